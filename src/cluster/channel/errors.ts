/**
 * Why a send or request failed. They appear in `SendResult.failed[].error` and as request
 * rejections; `code` is stable for programs, the message is for people.
 */

export type ChannelErrorCode =
  | 'ERR_CHANNEL_STOPPED'
  | 'ERR_QUEUE_FULL'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_TIMEOUT'
  | 'ERR_CONNECTION_LOST'
  | 'ERR_REMOTE_HANDLER'
  | 'ERR_MEMBER_RESTARTED'
  | 'ERR_NOT_A_MEMBER'
  | 'ERR_BAD_REPLY';

export class ChannelError extends Error {
  override name = 'ChannelError';
  constructor(
    readonly code: ChannelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The peer's handler threw or rejected (Tomcat's FAIL-ACK / RemoteProcessException). It says nothing
 * about the peer's health, so it never triggers the failure detector.
 */
export class RemoteHandlerError extends ChannelError {
  override name = 'RemoteHandlerError';
  constructor(message: string) {
    super('ERR_REMOTE_HANDLER', message);
  }
}
