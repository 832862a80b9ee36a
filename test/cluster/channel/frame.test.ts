// Framing (frame.ts): length-prefixed frames survive any chunking, and the size limit is enforced
// from the 4-byte header alone, before the body is buffered.
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameError, FrameType, encodeFrame, idAndText, readId } from '../../../src/cluster/channel/frame.js';

function frames(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => encodeFrame(FrameType.MESSAGE, idAndText(i, `{"i":${i},"pad":"${'x'.repeat(i * 7)}"}`)));
}

describe('FrameDecoder', () => {
  it('decodes the same frames whatever the chunk boundaries (1 byte, 3 bytes, all at once)', () => {
    const input = Buffer.concat(frames(40));
    for (const size of [1, 3, 17, 4096, input.length]) {
      const d = new FrameDecoder(1 << 20);
      const out = [];
      for (let off = 0; off < input.length; off += size) out.push(...d.push(input.subarray(off, off + size)));
      expect(out).toHaveLength(40);
      out.forEach((f, i) => {
        expect(f.type).toBe(FrameType.MESSAGE);
        expect(readId(f.body)).toBe(i);
        expect(JSON.parse(f.body.toString('utf8', 4)).i).toBe(i);
      });
      expect(d.pendingBytes()).toBe(0);
    }
  });

  it('rejects an oversized frame from its header alone (nothing of the body needed)', () => {
    const d = new FrameDecoder(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    expect(() => d.push(header)).toThrow(FrameError);
    try {
      new FrameDecoder(1024).push(header);
    } catch (err) {
      expect((err as FrameError).kind).toBe('oversized');
    }
    // Exactly the limit is fine.
    const ok = new FrameDecoder(1024);
    const body = Buffer.alloc(1023);
    expect(ok.push(encodeFrame(7, body))).toHaveLength(1);
  });

  it('rejects a zero-length frame (no type byte) as malformed', () => {
    const d = new FrameDecoder(1024);
    expect(() => d.push(Buffer.alloc(4))).toThrow(/type byte/);
  });

  it('reports the bytes of an incomplete frame (a truncated frame when the connection closes)', () => {
    const d = new FrameDecoder(1024);
    const f = encodeFrame(7, Buffer.alloc(100));
    expect(d.push(f.subarray(0, 50))).toEqual([]);
    expect(d.pendingBytes()).toBe(50);
  });

  it('reads ids of reply frames and refuses payloads too short to hold one', () => {
    expect(readId(idAndText(0xfffffffe, ''))).toBe(0xfffffffe);
    expect(() => readId(Buffer.alloc(3))).toThrow(/4-byte id/);
  });
});
