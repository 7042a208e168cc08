/**
 * A sampling session on a Tinker server (docs/tinker-protocol.md §5): `asample`
 * with the session's own `seq_id` counter from 0 (§1.4); an expired future
 * (HTTP 410) is re-submitted with the same seq_id and content.
 */
import { FutureExpiredError } from './calls.js';
import type { TinkerClient } from './client.js';
import type { InputChunk } from './render/chat.js';
import { chunksToJson, parseResponse, SampleResult, type SampleParamsWire } from './wire.js';

export interface SampleRequest {
  readonly prompt: readonly InputChunk[];
  readonly numSamples: number;
  readonly params: SampleParamsWire;
  readonly promptLogprobs?: boolean;
}

/** A sampling session: `asample` with its own seq_id counter from 0 (§1.4, §5.2). */
export class SamplingSession {
  private seq = 0;
  constructor(
    private readonly client: TinkerClient,
    readonly id: string,
  ) {}

  /** Submits one sample request and waits for it; an expired future (410) is re-submitted with the same seq_id. */
  async sample(request: SampleRequest): Promise<SampleResult> {
    const seqId = this.seq++;
    const body = {
      sampling_session_id: this.id,
      seq_id: seqId,
      num_samples: request.numSamples,
      prompt: chunksToJson(request.prompt),
      sampling_params: request.params,
      prompt_logprobs: request.promptLogprobs ?? false,
      topk_prompt_logprobs: 0,
      type: 'sample',
    };
    for (let attempt = 0; ; attempt++) {
      const { requestId } = await this.client.submit('asample', body, { 'X-Tinker-Sampling-Backpressure': '1' });
      try {
        return parseResponse(SampleResult, await this.client.retrieveResult(requestId, `asample seq ${seqId}`, 'Sample'), 'asample');
      } catch (error) {
        if (!(error instanceof FutureExpiredError) || attempt >= 2) throw error;
      }
    }
  }
}
