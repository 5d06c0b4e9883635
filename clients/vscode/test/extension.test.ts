// The extension's logic against the real local server (tests/test_vscode_extension.py
// starts it and names it in PILOT_FEEDBACK_URL, with a member's key in PILOT_FEEDBACK_TOKEN).
// VS Code itself is not run here (tests/test_vscode_workbench.py runs it): a scripted Ui
// answers the prompts.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, IncomingHttpHeaders, Server } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Api, ApiError, Item, originOf } from "../src/api";
import { Choice, report, rows, signIn, Ui, Workspace } from "../src/commands";
import { buildContext, gitOf, withoutCredentials } from "../src/context";
import { tokenKey, Tokens } from "../src/tokens";

const URL = process.env.PILOT_FEEDBACK_URL ?? "";
const TOKEN = process.env.PILOT_FEEDBACK_TOKEN ?? "";
assert.ok(URL && TOKEN, "PILOT_FEEDBACK_URL and PILOT_FEEDBACK_TOKEN name the server under test");

/** A Ui that answers each prompt in turn with the script's next answer, and records what it showed. */
function scripted(answers: unknown[]): Ui & { shown: string[]; prompts: string[]; offered: Map<string, Choice<unknown>[]> } {
  const queue = [...answers];
  const shown: string[] = [];
  const prompts: string[] = [];
  const offered = new Map<string, Choice<unknown>[]>();
  return {
    shown,
    prompts,
    offered,
    async pick<T>(title: string, choices: Choice<T>[]) {
      prompts.push(title);
      offered.set(title, choices);
      const answer = queue.shift();
      if (answer === undefined) return undefined;
      const found = choices.find((c) => c.label === answer);
      assert.ok(found, `"${answer}" is not offered for ${title}: ${choices.map((c) => c.label)}`);
      return found.value;
    },
    async input(title, options) {
      prompts.push(title);
      const answer = queue.shift() as string | undefined;
      if (answer !== undefined && options.validate) assert.equal(options.validate(answer), undefined, title);
      return answer;
    },
    async write(title) {
      prompts.push(title);
      return queue.shift() as string | undefined;
    },
    status: (message) => shown.push(`status: ${message}`),
    error: (message) => shown.push(`error: ${message}`),
  };
}

function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), "pf-vscode-"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir });
  git("init", "-q", "-b", "feature/login");
  git("remote", "add", "origin", "https://bot:s3cret@git.example.com/acme/app.git");
  git("-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "start");
  return dir;
}

function workspace(selection?: string, token = TOKEN, trusted = true): Workspace & { keys: string[]; gitRuns: number } {
  const folder = checkout();
  const keys: string[] = [];
  const made = {
    keys,
    gitRuns: 0,
    api: async () => (token ? new Api(URL, token) : undefined),
    environment: () => ({ vscodeVersion: "1.96.0", os: "Linux 6.1", languageId: "typescript", extensionVersion: "0.1.0" }),
    git: () => {
      made.gitRuns++;
      return gitOf(folder);
    },
    trusted: () => trusted,
    selection: () => selection,
    newKey: () => {
      keys.push(randomUUID());
      return keys[keys.length - 1];
    },
  };
  return made;
}

/** A server on a free loopback port that records each request's headers and answers as `answer` does. */
async function recorder(answer: (respond: (status: number) => void) => void = (respond) => respond(200)) {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((request, response) => {
    seen.push(request.headers);
    answer((status) => response.writeHead(status, { "Content-Type": "application/json" }).end('{"items": []}'));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  return { url, seen, close: () => (server.closeAllConnections(), new Promise((resolve) => server.close(resolve))) };
}

async function fetchItem(id: string): Promise<any> {
  return (await fetch(`${URL}/feedback/${id}/`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
}

async function mine(summary: string): Promise<Item[]> {
  return (await new Api(URL, TOKEN).mine(100)).filter((it) => it.summary === summary);
}

test("Report a Bug sends a bug with the context the user agreed to", async () => {
  const summary = `Crash on save ${randomUUID().slice(0, 6)}`;
  const ui = scripted(["High", summary, "It crashes every time.", "Attach context"]);
  const item = await report("bug", ui, workspace());
  assert.ok(item);
  assert.deepEqual(ui.prompts, ["Priority", "Summary", "Description", "Send context with it?"]);
  assert.deepEqual(ui.shown, [`status: Pilot Feedback: sent "${summary}".`]);
  const [found] = await mine(summary);
  const full = await fetchItem(found.id);
  assert.equal(full.feedback_type, "bug");
  assert.equal(full.priority, "high");
  assert.equal(full.source, "ide_plugin");
  assert.equal(full.description, "It crashes every time.");
  assert.deepEqual(full.context, {
    vscode_version: "1.96.0", os: "Linux 6.1", language: "typescript", extension_version: "0.1.0",
    git_remote: "https://git.example.com/acme/app.git", git_branch: "feature/login", git_commit: full.context.git_commit,
  });
  assert.match(full.context.git_commit, /^[0-9a-f]{40}$/);
});

test("without consent no context goes, and file contents only when the user includes the selection", async () => {
  const summary = `Feature ${randomUUID().slice(0, 6)}`;
  const selected = "function save() { /* the code in question */ }";
  const written = scripted(["Medium", summary, "Write a description", "Please add autosave.", "Send without context"]);
  assert.ok(await report("feature", written, workspace(selected)));
  const [item] = await mine(summary);
  const full = await fetchItem(item.id);
  assert.deepEqual(full.context, {});
  assert.equal(full.description, "Please add autosave.");
  assert.ok(!JSON.stringify(full).includes("the code in question"));

  const other = `Selected ${randomUUID().slice(0, 6)}`;
  const included = scripted(["Documentation", "Low", other, "Include selection", "Send without context"]);
  assert.ok(await report(undefined, included, workspace(selected)));
  const [withSelection] = await mine(other);
  const shown = await fetchItem(withSelection.id);
  assert.equal(shown.feedback_type, "docs");
  assert.equal(shown.description, selected);
});

test("cancelling at any step sends nothing", async () => {
  for (let answered = 0; answered < 5; answered++) {
    const summary = `Cancelled ${randomUUID().slice(0, 6)}`;
    const answers = ["Bug", "Low", summary, "text"].slice(0, answered);
    assert.equal(await report(undefined, scripted(answers), workspace()), undefined);
    assert.deepEqual(await mine(summary), []);
  }
});

test("a refusal is shown with the API's detail, and a retry under the same key makes one item", async () => {
  const refused = scripted(["Urgent", "x".repeat(10), "", "Send without context"]);
  const bad = workspace(undefined, "pfk_not-a-key");
  assert.equal(await report("bug", refused, bad), undefined);
  assert.equal(refused.shown.length, 1);
  assert.match(refused.shown[0], /^error: Pilot Feedback: The bearer token is neither an API key nor a JWT\.|^error: Pilot Feedback: The API key is unknown or revoked\./);

  const api = new Api(URL, TOKEN);
  const summary = `Once ${randomUUID().slice(0, 6)}`;
  const key = randomUUID();
  const body = { feedback_type: "bug", summary, description: "", source: "ide_plugin" as const, context: {} };
  const first = await api.submit(body, key);
  const again = await api.submit(body, key);
  assert.equal(again.id, first.id);
  assert.equal((await mine(summary)).length, 1);
  await assert.rejects(api.submit({ ...body, summary: "" }, randomUUID()), (e: unknown) =>
    e instanceof ApiError && e.status === 422 && /summary/.test(e.message));
  await assert.rejects(new Api("http://127.0.0.1:9/api/v1", TOKEN).mine(), (e: unknown) =>
    e instanceof ApiError && e.status === 0 && /Could not reach/.test(e.message));
});

test("Sign In keeps a token the API takes, and nothing else", async () => {
  const kept: string[] = [];
  const keep = async (token: string) => void kept.push(token);
  const wrong = scripted(["pfk_wrong"]);
  assert.equal(await signIn(wrong, URL, keep), false);
  assert.match(wrong.shown[0], /^error: .*Nothing was stored\.$/);
  const right = scripted([TOKEN]);
  assert.equal(await signIn(right, URL, keep), true);
  assert.deepEqual(kept, [TOKEN]);
  assert.deepEqual(right.shown, ["status: Pilot Feedback: signed in."]);
});

test("My Feedback lists the user's items with their statuses", async () => {
  const summary = `Listed ${randomUUID().slice(0, 6)}`;
  await report("bug", scripted(["Low", summary, "", "Send without context"]), workspace());
  const listed = rows(await new Api(URL, TOKEN).mine());
  const row = listed.find((r) => r.label === summary);
  assert.ok(row);
  assert.equal(row.description, "new");
  assert.match(row.tooltip, /^bug, low priority, sent \d{4}-\d{2}-\d{2}$/);
});

test("the context builder sends nothing without consent and strips credentials from remotes", () => {
  const env = { vscodeVersion: "1.96.0", os: "Linux", extensionVersion: "0.1.0" };
  assert.deepEqual(buildContext(false, env, { remote: "x", branch: "main", commit: "abc" }), {});
  assert.deepEqual(buildContext(true, env, {}), { vscode_version: "1.96.0", os: "Linux", extension_version: "0.1.0" });
  assert.equal(withoutCredentials("https://u:p@host.example/o/r.git"), "https://host.example/o/r.git");
  assert.equal(withoutCredentials("git@github.com:o/r.git"), "git@github.com:o/r.git");
});

test("in an untrusted workspace git is not run, and the context says so and carries the rest", async () => {
  const summary = `Untrusted ${randomUUID().slice(0, 6)}`;
  const ui = scripted(["Low", summary, "", "Attach context"]);
  const untrusted = workspace(undefined, TOKEN, false);
  assert.ok(await report("bug", ui, untrusted));
  assert.equal(untrusted.gitRuns, 0);
  assert.match(ui.offered.get("Send context with it?")![0].description ?? "", /no git: the workspace is not trusted/);
  const [item] = await mine(summary);
  assert.deepEqual((await fetchItem(item.id)).context, {
    vscode_version: "1.96.0", os: "Linux 6.1", language: "typescript", extension_version: "0.1.0",
  });
});

test("a server that does not answer is given up after the timeout, with a message that says so", { timeout: 10_000 }, async () => {
  const hung = await recorder(() => undefined);
  try {
    const started = Date.now();
    await assert.rejects(new Api(hung.url, TOKEN, 300).mine(), (e: unknown) =>
      e instanceof ApiError && e.status === 0 && e.message === `${hung.url} did not answer within 0.3 seconds: try again later.`);
    assert.ok(Date.now() - started < 5000);
    assert.equal(hung.seen.length, 1);
  } finally {
    await hung.close();
  }
});

test("a token is kept per API origin and only ever sent to the origin it was stored for", async () => {
  const entries = new Map<string, string>();
  const secrets = {
    get: async (key: string) => entries.get(key),
    store: async (key: string, value: string) => void entries.set(key, value),
    delete: async (key: string) => void entries.delete(key),
  };
  const tokens = new Tokens(secrets);
  await tokens.keep(URL, TOKEN);
  assert.deepEqual([...entries.keys()], [`pilotFeedback.token@${new globalThis.URL(URL).origin}`]);
  assert.equal(tokenKey(URL), tokenKey(URL.replace(/\/api\/v1$/, "/elsewhere/")));
  assert.ok(Array.isArray(await (await tokens.api(URL))!.mine(1))); // the stored token works at its own origin

  // A workspace naming another host (here a recorder on another port) gets no token to send.
  const other = await recorder();
  try {
    assert.equal(await tokens.api(other.url), undefined);
    const ui = scripted([]);
    const pointed = { ...workspace(), api: () => tokens.api(other.url) };
    assert.equal(await report("bug", ui, pointed), undefined);
    assert.deepEqual(ui.shown, ["error: Pilot Feedback: sign in first (Pilot Feedback: Sign In)."]);
    assert.deepEqual(other.seen, []);
  } finally {
    await other.close();
  }
  assert.throws(() => originOf("file:///etc/passwd"), /not an http\(s\) address/);
  const badSetting = scripted([]);
  assert.equal(await report("bug", badSetting, { ...workspace(), api: () => tokens.api("not a url") }), undefined);
  assert.deepEqual(badSetting.shown, ['error: Pilot Feedback: The pilotFeedback.apiUrl setting is not an http(s) address: "not a url".']);

  await tokens.forget(URL);
  assert.equal(await tokens.api(URL), undefined);
});

test("the manifest keeps the API address out of workspace settings and declares what runs untrusted", () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8"));
  assert.equal(manifest.contributes.configuration.properties["pilotFeedback.apiUrl"].scope, "machine");
  const untrusted = manifest.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, "limited");
  assert.match(untrusted.description, /git/);
  const welcome = manifest.contributes.viewsWelcome.filter((w: any) => w.view === "pilotFeedback.myFeedback");
  assert.deepEqual(welcome.map((w: any) => w.when), ["!pilotFeedback.signedIn", "pilotFeedback.signedIn"]);
  assert.match(welcome[0].contents, /\[Sign In\]\(command:pilotFeedback\.signIn\)/);
  assert.equal(manifest.license, "MIT");
  const icon = readFileSync(join(__dirname, "../..", manifest.icon));
  assert.deepEqual([icon.readUInt32BE(16), icon.readUInt32BE(20)], [128, 128]); // the PNG's IHDR width and height
});
