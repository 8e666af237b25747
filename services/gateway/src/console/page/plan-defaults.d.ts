// plan-defaults.js is written by scripts/build-console.mjs from the admin contract's PLAN_DEFAULTS, so the
// form's defaults are the API's own: the page imports no package, only its own files.
export declare const PLAN_DEFAULTS: typeof import('@cinemaabyss/admin-contract').PLAN_DEFAULTS;
