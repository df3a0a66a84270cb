/**
 * Wire constants of the trickle protocol, as go-livepeer's `trickle` package implements it
 * (described in docs/protocol.md). Shared by the server and the clients.
 */

/** Response header: the segment index written (POST) or served (GET, 470, EOS). */
export const HEADER_SEQ = 'Lp-Trickle-Seq';
/** Response header: the channel's next write index (`nextWrite`). */
export const HEADER_LATEST = 'Lp-Trickle-Latest';
/** Response header: the channel is closed (end of stream). Clients test presence only. */
export const HEADER_CLOSED = 'Lp-Trickle-Closed';
/** Request header (POST): close every retained segment older than the target index first. */
export const HEADER_RESET = 'Lp-Trickle-Reset';
/** Request header (`POST {ch}`): the mime type of the channel to create. */
export const HEADER_EXPECT_CONTENT = 'Expect-Content';

/** The value Go sends in `Lp-Trickle-Closed`. */
export const CLOSED_VALUE = 'terminated';

/** Subscribe to the next segment to be written (`trickle.Next`). */
export const SEQ_NEXT = -1;
/** Subscribe to the current (most recent) segment from its first byte (`trickle.Current`). */
export const SEQ_CURRENT = -2;

/** Number of segments a channel retains (`maxSegmentsPerStream`). */
export const SEGMENTS_PER_CHANNEL = 5;

/** Status of a GET for a segment the channel does not retain (Go writes "470 status code 470"). */
export const STATUS_SEQ_NONEXISTENT = 470;

/** Go's `int` is 64-bit; JavaScript numbers are exact only up to 2^53 - 1. */
const GO_INT_MAX = 9223372036854775807n;

/**
 * Parses a sequence number the way Go's `strconv.Atoi` does (`+3`, `007`, `-0` accepted). Returns
 * `undefined` for anything Go would reject, and also (a deliberate deviation, documented in
 * docs/protocol.md) for magnitudes above `Number.MAX_SAFE_INTEGER`, which a JavaScript number
 * cannot represent exactly.
 */
export function parseSeq(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const big = BigInt(text);
  if (big > GO_INT_MAX || big < -GO_INT_MAX - 1n) return undefined;
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
  const n = Number(big);
  return Object.is(n, -0) ? 0 : n;
}

/** Reads an integer header (`Lp-Trickle-Seq`, `Lp-Trickle-Latest`); `undefined` if absent or invalid. */
export function headerInt(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  return parseSeq(text.trim());
}
