/**
 * Plain objects built by a constructor function instead of an object literal.
 *
 * V8 tracks every object literal's allocation site, and when most objects of a
 * site are still alive at a young-generation collection (which happens while
 * shape() builds a response, above all in a process's first calls, when the
 * young generation is small) it allocates that site's objects in the old
 * generation from then on. shape()'s per-step and per-completion objects die
 * with the response, so pretenured they cost old-generation collections, and
 * the young objects they point to survive and get copied: measured, about half
 * of a call's time at the median. Objects made with `new` on a constructor
 * function are not pretenured that way.
 *
 * The constructor's prototype is Object.prototype, so what it makes is a plain
 * object like a literal's: same prototype, `constructor === Object`, own
 * properties in the order `init` assigns them.
 *
 * Used for shape()'s response objects and the estimators' results, many of
 * which point to younger objects (what a pretenured object keeps alive).
 * shape() keeps the step spans flat (algo/span-buffer.ts), with no object per
 * step at all.
 */
export function plainObjectMaker<A extends unknown[], T extends object>(init: (this: T, ...args: A) => void): new (...args: A) => T {
  (init as unknown as { prototype: object }).prototype = Object.prototype;
  return init as unknown as new (...args: A) => T;
}
