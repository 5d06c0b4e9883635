// What the commands do, apart from VS Code: the extension (extension.ts) passes a Ui made
// of VS Code's QuickPick, input boxes, an editor and the status bar, and the tests a scripted one.

import { Api, ApiError, Item } from "./api";
import { buildContext, Environment, Git } from "./context";
import { DEFAULT_PRIORITY, FEEDBACK_TYPES, PRIORITIES as PRIORITY_VALUES } from "./values";

export interface Choice<T> {
  label: string;
  description?: string;
  value: T;
}

export interface Ui {
  pick<T>(title: string, choices: Choice<T>[]): Promise<T | undefined>;
  input(title: string, options: { prompt: string; password?: boolean; validate?: (value: string) => string | undefined }): Promise<string | undefined>;
  /** Text of several lines, written in an editor; undefined when the user cancels. */
  write(title: string, prompt: string): Promise<string | undefined>;
  status(message: string): void;
  error(message: string): void;
}

export interface Workspace {
  api(): Promise<Api | undefined>;
  environment(): Environment;
  git(): Promise<Git>;
  /** Whether the workspace is trusted: git runs in it only then (a repository's config can run commands). */
  trusted(): boolean;
  selection(): string | undefined;
  newKey(): string;
}

export const TYPES: Choice<string>[] = FEEDBACK_TYPES.map(({ label, value }) => ({ label, value }));

// The default first: it is the one Enter picks.
export const PRIORITIES: Choice<string>[] = [DEFAULT_PRIORITY, ...PRIORITY_VALUES.filter((p) => p !== DEFAULT_PRIORITY)]
  .map((value) => ({ label: value[0].toUpperCase() + value.slice(1), value }));

function contextChoices(trusted: boolean): Choice<boolean>[] {
  const about = "VS Code version, OS, the file's language, the extension's version";
  return [
    { label: "Attach context", description: trusted ? `${about}, git remote, branch and commit` : `${about} (no git: the workspace is not trusted)`, value: true },
    { label: "Send without context", value: false },
  ];
}

const MAX_SUMMARY = 200;

/** One report, asked for step by step; undefined when the user cancels or it is refused. */
export async function report(type: string | undefined, ui: Ui, workspace: Workspace): Promise<Item | undefined> {
  try {
    return await ask(type, ui, workspace);
  } catch (error) {
    if (error instanceof ApiError) {
      ui.error(`Pilot Feedback: ${error.message}`);
      return undefined;
    }
    throw error;
  }
}

async function ask(type: string | undefined, ui: Ui, workspace: Workspace): Promise<Item | undefined> {
  const api = await workspace.api();
  if (!api) {
    ui.error("Pilot Feedback: sign in first (Pilot Feedback: Sign In).");
    return undefined;
  }
  const feedbackType = type ?? (await ui.pick("Type of feedback", TYPES));
  if (!feedbackType) return undefined;
  const priority = await ui.pick("Priority", PRIORITIES);
  if (!priority) return undefined;
  const summary = await ui.input("Summary", {
    prompt: "One line that says what it is about",
    validate: (v) => (!v.trim() ? "Write a summary." : v.length > MAX_SUMMARY ? `At most ${MAX_SUMMARY} characters.` : undefined),
  });
  if (summary === undefined) return undefined;
  const description = await describe(ui, workspace.selection());
  if (description === undefined) return undefined;
  const trusted = workspace.trusted();
  const consent = await ui.pick("Send context with it?", contextChoices(trusted));
  if (consent === undefined) return undefined;
  const context = buildContext(consent, workspace.environment(), consent && trusted ? await workspace.git() : {});
  const item = await api.submit(
    { feedback_type: feedbackType, summary: summary.trim(), description, priority, source: "ide_plugin", context },
    workspace.newKey(),
  );
  ui.status(`Pilot Feedback: sent "${item.summary}".`);
  return item;
}

/** The description: written, or the editor's selection when the user picks "include selection". */
async function describe(ui: Ui, selection: string | undefined): Promise<string | undefined> {
  if (selection) {
    const how = await ui.pick("Description", [
      { label: "Write a description", value: "write" },
      { label: "Include selection", description: "the selected text becomes the description", value: "selection" },
    ]);
    if (how === undefined) return undefined;
    if (how === "selection") return selection;
  }
  return ui.write("Description", "What happened, and what you expected (optional)");
}

/** Checks a token against the API and hands it to `keep` (VS Code's SecretStorage). */
export async function signIn(ui: Ui, baseUrl: string, keep: (token: string) => Promise<void>): Promise<boolean> {
  const token = await ui.input("Pilot Feedback token", { prompt: "An API key (pfk_...) or a JWT from your identity provider", password: true });
  if (!token) return false;
  try {
    await new Api(baseUrl, token.trim()).mine(1);
  } catch (error) {
    ui.error(`Pilot Feedback: ${error instanceof ApiError ? error.message : String(error)} Nothing was stored.`);
    return false;
  }
  await keep(token.trim());
  ui.status("Pilot Feedback: signed in.");
  return true;
}

export interface Row {
  label: string;
  description: string;
  tooltip: string;
}

/** My Feedback's rows: each item's summary and status. */
export function rows(items: Item[]): Row[] {
  return items.map((it) => ({
    label: it.summary,
    description: it.status.replace(/_/g, " "),
    tooltip: `${it.feedback_type}, ${it.priority} priority, sent ${it.created_at.slice(0, 10)}`,
  }));
}
