// Public surface of path health on the controller.
export { pathId, type PathEvent, type PathFeed, type PathHealth, type PathView } from './types.js';
