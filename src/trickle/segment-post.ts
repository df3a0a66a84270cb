/**
 * One streaming POST for one segment (internal to TricklePublisher / TrickleSegmentWriter).
 * Threading: JS thread only.
 */
import type { Agent, ClientRequest, IncomingHttpHeaders } from 'node:http';

import { ErrorCodes, TrickleError } from '../errors';
import { readText, startRequest } from './http-client';

export interface PostReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The reply arrived before the request body was ended (the server did not wait for data). */
  early: boolean;
}

/** One POST for one seq (internal). */
export class SegmentPost {
  readonly req: ClientRequest;
  readonly reply: Promise<PostReply>;
  /** Set once the reply or an error arrived. */
  outcome: { reply: PostReply } | { error: unknown } | undefined;
  /** The response head arrived (its body may still be read). */
  responded = false;
  ended = false;

  constructor(url: string, agent: Agent, headers: Record<string, string>) {
    const req = startRequest(url, { method: 'POST', agent, headers });
    this.req = req;
    this.reply = new Promise<PostReply>((resolve, reject) => {
      req.on('response', (res) => {
        const early = !this.ended;
        this.responded = true;
        readText(res).then(
          (body) => {
            const reply: PostReply = { status: res.statusCode ?? 0, headers: res.headers, body, early };
            this.outcome ??= { reply };
            resolve(reply);
            // The server answered before the body ended (EOS, 404, closed segment): the rest of
            // the request is dropped with the connection.
            if (early) req.destroy();
          },
          (error: unknown) => {
            this.outcome ??= { error };
            reject(error);
          },
        );
      });
      req.on('error', (error) => {
        if (this.outcome || this.responded) return;
        this.outcome = { error };
        reject(error);
      });
    });
    this.reply.catch(() => {});
    // Send the request head now: the server creates/reuses the segment and starts its interim
    // keepalives; the body follows as the segment is written.
    req.flushHeaders();
  }

  /** True when nothing has been sent and the request already failed on the network. */
  get failedOnNetwork(): boolean {
    return this.outcome !== undefined && 'error' in this.outcome;
  }

  get answered(): boolean {
    return this.responded || this.outcome !== undefined;
  }

  destroy(): void {
    this.outcome ??= { error: new TrickleError(ErrorCodes.ERR_CLOSED, 'request dropped') };
    this.req.destroy();
  }
}

