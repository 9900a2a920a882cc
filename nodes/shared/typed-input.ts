import type { Node, NodeAPI, NodeMessage } from 'node-red';

/**
 * Evaluates a TypedInput property (msg, flow, global, env, str, num, json, jsonata...) as a
 * promise. The callback form is used because JSONata evaluation is asynchronous in Node-RED 4+.
 */
export function evaluateProperty(RED: NodeAPI, node: Node, value: string, type: string, msg: NodeMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err: Error | null, result: unknown) => {
      if (err) reject(err);
      else resolve(result);
    });
  });
}
