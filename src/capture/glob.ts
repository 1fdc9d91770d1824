/**
 * Small glob matching for config patterns: `*` any run of characters (not
 * `/` when `pathMode`), `?` one character, `[abc]` / `[!abc]` / `[a-z]` a
 * class; everything else literal. No `**`, no braces: the patterns are short
 * and a person reads them.
 */
const cache = new Map<string, RegExp>();

export function globToRegExpSource(glob: string, pathMode = false): string {
  let re = '';
  const any = pathMode ? '[^/]' : '[\\s\\S]';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += `${any}*`;
    else if (c === '?') re += any;
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return re;
}

/** Whether `text` matches `glob` as a whole. */
export function globMatch(glob: string, text: string, pathMode = false): boolean {
  const key = `${pathMode ? 'p' : 's'}${glob}`;
  let re = cache.get(key);
  if (!re) {
    re = new RegExp(`^${globToRegExpSource(glob, pathMode)}$`, 'u');
    cache.set(key, re);
  }
  return re.test(text);
}

export const matchesAny = (globs: readonly string[], text: string): boolean => globs.some((g) => globMatch(g, text));
