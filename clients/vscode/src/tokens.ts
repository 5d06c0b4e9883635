// Where the token is kept: one SecretStorage entry per API origin, so that a token is only
// ever sent to the origin it was checked against and stored for.

import { Api, originOf } from "./api";

/** What the extension uses of VS Code's SecretStorage. */
export interface Secrets {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** The SecretStorage key of the token for the API at `apiUrl`: its origin, not its path. */
export function tokenKey(apiUrl: string): string {
  return `pilotFeedback.token@${originOf(apiUrl)}`;
}

export class Tokens {
  constructor(private readonly secrets: Secrets) {}

  /** The API at `apiUrl` with the token stored for its origin; undefined when none is. */
  async api(apiUrl: string): Promise<Api | undefined> {
    const token = await this.secrets.get(tokenKey(apiUrl));
    return token ? new Api(apiUrl, token) : undefined;
  }

  async keep(apiUrl: string, token: string): Promise<void> {
    await this.secrets.store(tokenKey(apiUrl), token);
  }

  async forget(apiUrl: string): Promise<void> {
    await this.secrets.delete(tokenKey(apiUrl));
  }
}
