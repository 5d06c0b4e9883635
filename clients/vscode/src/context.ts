// What a report says about where it came from, sent only with the user's consent.

import { execFile } from "node:child_process";

export interface Environment {
  vscodeVersion: string;
  os: string;
  languageId?: string;
  extensionVersion: string;
  workspaceFolder?: string;
}

export interface Git {
  remote?: string;
  branch?: string;
  commit?: string;
}

/** The context sent with a report: nothing without the user's consent, and never a file's contents. */
export function buildContext(consent: boolean, env: Environment, git: Git): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  if (consent) {
    context.vscode_version = env.vscodeVersion;
    context.os = env.os;
    if (env.languageId) context.language = env.languageId;
    context.extension_version = env.extensionVersion;
    if (git.remote) context.git_remote = git.remote;
    if (git.branch) context.git_branch = git.branch;
    if (git.commit) context.git_commit = git.commit;
  }
  return context;
}

/** A remote's URL without the user and password some clones carry in it. */
export function withoutCredentials(remote: string): string {
  try {
    const url = new URL(remote);
    if (!url.username && !url.password) return remote;
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return remote; // scp-like git@host:owner/repo: the user is no secret
  }
}

/** The remote, branch and commit of a folder's git checkout (what is found of them). */
export async function gitOf(folder: string | undefined): Promise<Git> {
  if (!folder) return {};
  const [remote, branch, commit] = await Promise.all([
    git(folder, ["config", "--get", "remote.origin.url"]),
    git(folder, ["rev-parse", "--abbrev-ref", "HEAD"]),
    git(folder, ["rev-parse", "HEAD"]),
  ]);
  return { remote: remote && withoutCredentials(remote), branch, commit };
}

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", args, { cwd, timeout: 5000 }, (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined));
  });
}
