/* The runbooks contain no formulas. mkdocs-jupyter's loader (appended after this script) uses an
 * existing window.MathJax that has typesetPromise instead of fetching MathJax from a CDN, so this
 * no-op keeps every page free of external requests. */
window.MathJax = window.MathJax || {
  startup: { promise: Promise.resolve() },
  typesetPromise: () => Promise.resolve(),
  typesetClear: () => {},
  texReset: () => {},
};
