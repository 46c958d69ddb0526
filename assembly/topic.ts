// Topic names and filters (MQTT 3.1.1 §4.7, §1.5.3): validation and matching.
import { OK, INVALID_TOPIC, INVALID_FILTER } from "./status";
import { MAX_TOPIC_LENGTH } from "./config";

const PLUS: u8 = 0x2b; // '+'
const HASH: u8 = 0x23; // '#'
const SLASH: u8 = 0x2f; // '/'
const DOLLAR: u8 = 0x24; // '$'

/**
 * True when the len bytes at ptr are well-formed UTF-8 without U+0000 (§1.5.3):
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
export function isValidUtf8(ptr: usize, len: u32): bool {
  let i: u32 = 0;
  while (i < len) {
    let b = <u32>load<u8>(ptr + i);
    if (b == 0) return false;
    if (b < 0x80) { i++; continue; }
    let extra: u32;
    let low: u32 = 0x80;
    let high: u32 = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) extra = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      if (b == 0xe0) low = 0xa0;
      if (b == 0xed) high = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      if (b == 0xf0) low = 0x90;
      if (b == 0xf4) high = 0x8f;
    } else return false;
    if (i + extra >= len) return false; // truncated sequence
    let c = <u32>load<u8>(ptr + i + 1);
    if (c < low || c > high) return false;
    for (let k: u32 = 2; k <= extra; k++) {
      let d = <u32>load<u8>(ptr + i + k);
      if ((d & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

/** True when the len bytes at ptr may name a topic (§4.7.3): not empty, no wildcard, valid UTF-8. Any length. */
export function isWellFormedTopicName(ptr: usize, len: u32): bool {
  if (len == 0) return false;
  for (let i: u32 = 0; i < len; i++) {
    let b = load<u8>(ptr + i);
    if (b == PLUS || b == HASH) return false;
  }
  return isValidUtf8(ptr, len);
}

/** Validates a topic name for PUBLISH: OK or INVALID_TOPIC (empty, longer than MAX_TOPIC_LENGTH, wildcard, bad UTF-8). */
export function validateTopicName(ptr: usize, len: u32): i32 {
  if (len > <u32>MAX_TOPIC_LENGTH) return INVALID_TOPIC;
  return isWellFormedTopicName(ptr, len) ? OK : INVALID_TOPIC;
}

/**
 * Validates a topic filter for SUBSCRIBE/UNSUBSCRIBE: OK or INVALID_FILTER.
 * '+' must fill a whole level; '#' must fill the last level.
 */
export function validateTopicFilter(ptr: usize, len: u32): i32 {
  if (len == 0 || len > <u32>MAX_TOPIC_LENGTH) return INVALID_FILTER;
  for (let i: u32 = 0; i < len; i++) {
    let b = load<u8>(ptr + i);
    if (b != PLUS && b != HASH) continue;
    let startsLevel = i == 0 || load<u8>(ptr + i - 1) == SLASH;
    let endsLevel = i + 1 == len || load<u8>(ptr + i + 1) == SLASH;
    if (!startsLevel || !endsLevel) return INVALID_FILTER;
    if (b == HASH && i + 1 != len) return INVALID_FILTER;
  }
  return isValidUtf8(ptr, len) ? OK : INVALID_FILTER;
}

/**
 * True when the topic name matches the filter (§4.7). Both are assumed valid.
 * Topics starting with '$' are not matched by a filter starting with a wildcard.
 */
export function topicMatches(filterPtr: usize, filterLen: u32, topicPtr: usize, topicLen: u32): bool {
  if (topicLen > 0 && load<u8>(topicPtr) == DOLLAR && filterLen > 0) {
    let first = load<u8>(filterPtr);
    if (first == PLUS || first == HASH) return false;
  }
  let f: u32 = 0;
  let t: u32 = 0;
  while (f < filterLen) {
    let c = load<u8>(filterPtr + f);
    if (c == HASH) return true; // matches the parent level and everything below
    if (c == PLUS) {
      while (t < topicLen && load<u8>(topicPtr + t) != SLASH) t++;
      f++;
    } else {
      if (t >= topicLen || load<u8>(topicPtr + t) != c) {
        // "a/#" also matches "a": filter "/#" left while the topic ended
        return t == topicLen && f + 2 == filterLen && c == SLASH && load<u8>(filterPtr + f + 1) == HASH;
      }
      f++;
      t++;
    }
  }
  return t == topicLen;
}
