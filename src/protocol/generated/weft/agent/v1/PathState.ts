// Original file: schemas/weft-agent.proto

export const PathState = {
  PATH_STATE_UNKNOWN: 'PATH_STATE_UNKNOWN',
  PATH_STATE_UP: 'PATH_STATE_UP',
  PATH_STATE_DOWN: 'PATH_STATE_DOWN',
} as const;

export type PathState =
  | 'PATH_STATE_UNKNOWN'
  | 0
  | 'PATH_STATE_UP'
  | 1
  | 'PATH_STATE_DOWN'
  | 2

export type PathState__Output = typeof PathState[keyof typeof PathState]
