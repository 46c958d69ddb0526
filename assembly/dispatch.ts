// Where an inbound application message goes: to the firmware when it is a command for
// the telemetry application, and always to the host's onMessage.
import { onMessage } from "./host";
import { isCommandTopic, receiveCommand } from "./firmware/telemetry";

/** Hands one received message on; flags as onMessage's (bit 0 retain, bit 1 dup, bits 2–3 QoS). */
export function deliver(topicPtr: usize, topicLen: u32, payloadPtr: usize, payloadLen: u32, flags: u32): void {
  if (isCommandTopic(topicPtr, topicLen)) receiveCommand(payloadPtr, payloadLen);
  onMessage(topicPtr, topicLen, payloadPtr, payloadLen, flags);
}
