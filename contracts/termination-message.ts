/**
 * Termination messages: how a Job's container hands its result to the operator. The container writes a
 * compact JSON document to its termination-message file before exiting; the kubelet copies it into the
 * Pod's status, where the controller reads it.
 */

/** Kubernetes truncates termination messages beyond 4096 bytes. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** The file a container writes its termination message to, unless its `terminationMessagePath` says otherwise. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
