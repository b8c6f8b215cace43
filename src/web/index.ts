// Public surface of the live view page.
export { ensureWebBundle, WEB_BUNDLE } from './build.js';
export { registerPage } from './serve.js';
