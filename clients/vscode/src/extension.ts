// The VS Code-facing layer, kept thin: commands.ts holds what the commands do.

import { randomUUID } from "node:crypto";
import * as os from "node:os";
import * as vscode from "vscode";
import { Api } from "./api";
import { Choice, report, rows, signIn, Ui, Workspace } from "./commands";
import { gitOf } from "./context";
import { Tokens } from "./tokens";

/** Where 0.1.0 kept a token for whichever origin the setting named: forgotten, so it is never sent elsewhere. */
const UNKEYED_TOKEN = "pilotFeedback.token";

export function activate(extension: vscode.ExtensionContext): void {
  const tokens = new Tokens(extension.secrets);
  void extension.secrets.delete(UNKEYED_TOKEN);
  const api = () => tokens.api(apiUrl());
  const descriptions = new DescriptionEditor();
  const ui = vscodeUi(descriptions);
  const view = new MyFeedback(api);
  const workspace: Workspace = {
    api,
    environment: () => ({
      vscodeVersion: vscode.version,
      os: `${os.type()} ${os.release()}`,
      languageId: vscode.window.activeTextEditor?.document.languageId,
      extensionVersion: String(extension.extension.packageJSON.version),
    }),
    git: () => gitOf(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath),
    trusted: () => vscode.workspace.isTrusted,
    selection: () => {
      const editor = vscode.window.activeTextEditor;
      const text = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
      return text || undefined;
    },
    newKey: () => randomUUID(),
  };
  const after = (sent: unknown) => sent && view.refresh();
  extension.subscriptions.push(
    descriptions,
    vscode.window.registerTreeDataProvider("pilotFeedback.myFeedback", view),
    vscode.commands.registerCommand("pilotFeedback.reportBug", () => report("bug", ui, workspace).then(after)),
    vscode.commands.registerCommand("pilotFeedback.requestFeature", () => report("feature", ui, workspace).then(after)),
    vscode.commands.registerCommand("pilotFeedback.sendFeedback", () => report(undefined, ui, workspace).then(after)),
    vscode.commands.registerCommand("pilotFeedback.useDescription", () => descriptions.use()),
    vscode.commands.registerCommand("pilotFeedback.signIn", () => {
      const url = apiUrl();
      return signIn(ui, url, (token) => tokens.keep(url, token)).then(after);
    }),
    vscode.commands.registerCommand("pilotFeedback.signOut", async () => {
      await tokens.forget(apiUrl());
      view.refresh();
    }),
    vscode.commands.registerCommand("pilotFeedback.refresh", () => view.refresh()),
    // Another origin has a token of its own (or none): the view shows what the new one's says.
    vscode.workspace.onDidChangeConfiguration((change) => change.affectsConfiguration("pilotFeedback.apiUrl") && view.refresh()),
  );
}

export function deactivate(): void {}

/** The API's address, from the user's settings only: the setting's scope is "machine", so a
 * workspace's .vscode/settings.json cannot point the stored token at another host. */
function apiUrl(): string {
  return vscode.workspace.getConfiguration("pilotFeedback").get<string>("apiUrl", "http://127.0.0.1:8080/api/v1");
}

function vscodeUi(descriptions: DescriptionEditor): Ui {
  return {
    async pick<T>(title: string, choices: Choice<T>[]) {
      const picked = await vscode.window.showQuickPick(choices, { title, ignoreFocusOut: true });
      return picked?.value;
    },
    input: (title, options) =>
      Promise.resolve(vscode.window.showInputBox({
        title, prompt: options.prompt, password: options.password, ignoreFocusOut: true, validateInput: options.validate,
      })),
    write: (_title, prompt) => descriptions.write(prompt),
    status: (message) => vscode.window.setStatusBarMessage(message, 8000),
    error: (message) => void vscode.window.showErrorMessage(message),
  };
}

/** The untitled editor a description is written in (package.json's menus and keybinding name it). */
const DESCRIPTION = vscode.Uri.from({ scheme: "untitled", path: "Feedback description.md" });

/** A description written in an untitled Markdown editor: "Use as Description" takes its text,
 * closing the editor cancels the report. */
class DescriptionEditor implements vscode.Disposable {
  private pending?: (text: string | undefined) => void;
  private readonly closing = vscode.window.tabGroups.onDidChangeTabs((change) => {
    if (this.pending && change.closed.some(showsDescription) && !openTabs().some(showsDescription)) this.settle(undefined);
  });

  async write(prompt: string): Promise<string | undefined> {
    this.settle(undefined); // a report started anew cancels the unfinished one
    const document = await vscode.workspace.openTextDocument(DESCRIPTION);
    await vscode.window.showTextDocument(document);
    const written = new Promise<string | undefined>((resolve) => (this.pending = resolve));
    await vscode.commands.executeCommand("setContext", "pilotFeedback.describing", true);
    // A notification that says what to do, and goes once the description is used or cancelled.
    const title = "Pilot Feedback: write the description";
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, (progress) => {
      progress.report({ message: `${prompt}. Then choose ✓ Use as Description (Ctrl+Enter); closing the editor cancels.` });
      return written;
    });
    return written;
  }

  /** The editor's text as the description; the editor closes without asking to save it. */
  async use(): Promise<void> {
    const resolve = this.pending;
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === DESCRIPTION.toString());
    if (!resolve || !document) return;
    const text = document.getText();
    this.pending = undefined; // closing the editor here is not cancelling
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    this.pending = resolve; // the report goes on only once the editor is closed
    this.settle(text);
  }

  dispose(): void {
    this.closing.dispose();
    this.settle(undefined);
  }

  private settle(text: string | undefined): void {
    const resolve = this.pending;
    this.pending = undefined;
    void vscode.commands.executeCommand("setContext", "pilotFeedback.describing", false);
    resolve?.(text);
  }
}

function showsDescription(tab: vscode.Tab): boolean {
  return tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === DESCRIPTION.toString();
}

function openTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs);
}

/** My Feedback: the user's items; empty (so that package.json's viewsWelcome shows) when
 * signed out, with a Sign In button, or when there are none yet. */
class MyFeedback implements vscode.TreeDataProvider<vscode.TreeItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly api: () => Promise<Api | undefined>) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: vscode.TreeItem): vscode.TreeItem {
    return item;
  }

  async getChildren(): Promise<vscode.TreeItem[]> {
    try {
      const client = await this.api();
      await vscode.commands.executeCommand("setContext", "pilotFeedback.signedIn", Boolean(client));
      if (!client) return [];
      return rows(await client.mine()).map((row) => Object.assign(new vscode.TreeItem(row.label), row));
    } catch (error) {
      return [new vscode.TreeItem(`Could not load: ${error instanceof Error ? error.message : String(error)}`)];
    }
  }
}
