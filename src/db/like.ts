/** Escapes LIKE's wildcards (`%`, `_`) and its escape character so user text matches literally. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
