/**
 * A response body that arrives as a Readable (an AJP member's) in the shape the response relay
 * takes (ForwardedBody), so that the relay has one code path for every transport.
 */
import type { Readable } from 'node:stream';
import type { BodySink, ForwardedBody } from '../members/http/connector.js';

export class StreamBody implements ForwardedBody {
  constructor(private readonly stream: Readable) {}

  attach(sink: BodySink): void {
    const stream = this.stream;
    stream.on('data', (chunk: Buffer) => {
      if (!sink.write(chunk)) stream.pause();
    });
    stream.once('end', () => sink.end());
    stream.once('error', (err: Error) => sink.fail(err));
  }

  resume(): void {
    this.stream.resume();
  }

  destroy(err?: Error): void {
    // Destroying the stream aborts the member request (the AJP exchange listens for it).
    if (!this.stream.readableEnded) this.stream.destroy(err);
  }
}
