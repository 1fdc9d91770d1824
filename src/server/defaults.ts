/** Defaults that callers need without loading the server (and its OpenID provider). */
export const DEFAULT_PORT = 8470;
