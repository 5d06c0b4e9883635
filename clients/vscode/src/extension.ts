// The VS Code-facing layer, kept thin: commands.ts holds what the commands do.

import { randomUUID } from "node:crypto";
import * as os from "node:os";
import * as vscode from "vscode";
import { Api } from "./api";
import { Choice, report, rows, signIn, Ui, Workspace } from "./commands";
import { gitOf } from "./context";

const TOKEN = "pilotFeedback.token";

export function activate(extension: vscode.ExtensionContext): void {
  const ui = vscodeUi();
  const view = new MyFeedback(() => api(extension));
  const workspace: Workspace = {
    api: () => api(extension),
    environment: () => ({
      vscodeVersion: vscode.version,
      os: `${os.type()} ${os.release()}`,
      languageId: vscode.window.activeTextEditor?.document.languageId,
      extensionVersion: String(extension.extension.packageJSON.version),
    }),
    git: () => gitOf(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath),
    selection: () => {
      const editor = vscode.window.activeTextEditor;
      const text = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
      return text || undefined;
    },
    newKey: () => randomUUID(),
  };
  const after = (sent: unknown) => sent && view.refresh();
  extension.subscriptions.push(
    vscode.window.registerTreeDataProvider("pilotFeedback.myFeedback", view),
    vscode.commands.registerCommand("pilotFeedback.reportBug", () => report("bug", ui, workspace).then(after)),
    vscode.commands.registerCommand("pilotFeedback.requestFeature", () => report("feature", ui, workspace).then(after)),
    vscode.commands.registerCommand("pilotFeedback.sendFeedback", () => report(undefined, ui, workspace).then(after)),
    vscode.commands.registerCommand("pilotFeedback.signIn", () =>
      signIn(ui, apiUrl(), (token) => Promise.resolve(extension.secrets.store(TOKEN, token))).then(after)),
    vscode.commands.registerCommand("pilotFeedback.signOut", async () => {
      await extension.secrets.delete(TOKEN);
      view.refresh();
    }),
    vscode.commands.registerCommand("pilotFeedback.refresh", () => view.refresh()),
  );
}

export function deactivate(): void {}

function apiUrl(): string {
  return vscode.workspace.getConfiguration("pilotFeedback").get<string>("apiUrl", "http://127.0.0.1:8080/api/v1");
}

async function api(extension: vscode.ExtensionContext): Promise<Api | undefined> {
  const token = await extension.secrets.get(TOKEN);
  return token ? new Api(apiUrl(), token) : undefined;
}

function vscodeUi(): Ui {
  return {
    async pick<T>(title: string, choices: Choice<T>[]) {
      const picked = await vscode.window.showQuickPick(choices, { title, ignoreFocusOut: true });
      return picked?.value;
    },
    input: (title, options) =>
      Promise.resolve(vscode.window.showInputBox({
        title, prompt: options.prompt, password: options.password, ignoreFocusOut: true, validateInput: options.validate,
      })),
    status: (message) => vscode.window.setStatusBarMessage(message, 8000),
    error: (message) => void vscode.window.showErrorMessage(message),
  };
}

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
    const client = await this.api();
    if (!client) return [new vscode.TreeItem("Sign in to see your feedback (Pilot Feedback: Sign In)")];
    try {
      return rows(await client.mine()).map((row) => Object.assign(new vscode.TreeItem(row.label), row));
    } catch (error) {
      return [new vscode.TreeItem(`Could not load: ${error instanceof Error ? error.message : String(error)}`)];
    }
  }
}
