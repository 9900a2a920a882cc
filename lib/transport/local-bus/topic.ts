/**
 * AMQP topic matching, so a consumer group binds the same keys on the local bus as on RabbitMQ:
 * words are separated by '.', '*' matches exactly one word, '#' matches zero or more words.
 */
import { TransportError } from '../transport-error';

export type TopicMatcher = (routingKey: string) => boolean;

function matchWords(pattern: readonly string[], words: readonly string[]): boolean {
  // Iterative two-pointer match with backtracking to the last '#' (like glob '*' matching).
  let p = 0;
  let w = 0;
  let starP = -1;
  let starW = -1;
  while (w < words.length) {
    if (p < pattern.length && pattern[p] === '#') {
      starP = p++;
      starW = w;
    } else if (p < pattern.length && (pattern[p] === '*' || pattern[p] === words[w])) {
      p++;
      w++;
    } else if (starP >= 0) {
      p = starP + 1;
      w = ++starW;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '#') p++;
  return p === pattern.length;
}

export function assertBindingKey(key: string): void {
  if (typeof key !== 'string' || key === '' || key.split('.').some((w) => w === '')) {
    throw new TransportError('CONFIG_ERROR', `invalid binding key ${JSON.stringify(key)}: dot-separated non-empty words, '*' or '#'`);
  }
}

/** A matcher for one binding key. */
export function topicMatcher(bindingKey: string): TopicMatcher {
  assertBindingKey(bindingKey);
  if (bindingKey === '#') return () => true;
  const pattern = bindingKey.split('.');
  if (!pattern.includes('*') && !pattern.includes('#')) return (key) => key === bindingKey;
  return (key) => matchWords(pattern, key.split('.'));
}

/** A matcher for a set of binding keys (any of them). */
export function anyTopicMatcher(bindingKeys: readonly string[]): TopicMatcher {
  const ms = bindingKeys.map(topicMatcher);
  return (key) => ms.some((m) => m(key));
}
