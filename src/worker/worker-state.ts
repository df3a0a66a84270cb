/**
 * The worker's health state machine (docs/compat.md, "Health"), in priority order:
 * ERROR if a fatal error is set; OK while at least one stream is active; IDLE once the processor
 * has initialized; LOADING before that.
 *
 * Unlike pytrickle, a failing user `updateParams` is not fatal (it answers 500 and emits an error
 * event) and so never makes health ERROR; fatal errors are a failed `initialize()` and an explicit
 * {@link WorkerState.setFatalError}.
 */
export type HealthStatus = 'LOADING' | 'IDLE' | 'OK' | 'ERROR';

/** The `current_state` object of start replies and the body of `/stream/status` (pytrickle's `get_pipeline_state()`). */
export interface CurrentState {
  status: HealthStatus;
  state: HealthStatus;
  error_message: string | null;
  pipeline_ready: boolean;
  active_streams: number;
  startup_complete: boolean;
  pipeline_state: HealthStatus;
  additional_info: Record<string, unknown>;
}

export class WorkerState {
  private startupComplete_ = false;
  private fatalError_: string | null = null;
  private activeStreams_ = 0;
  private shuttingDown_ = false;

  get startupComplete(): boolean {
    return this.startupComplete_;
  }
  get fatalError(): string | null {
    return this.fatalError_;
  }
  get activeStreams(): number {
    return this.activeStreams_;
  }
  get shuttingDown(): boolean {
    return this.shuttingDown_;
  }
  /** IDLE or OK: the processor is loaded and nothing fatal happened. */
  get pipelineReady(): boolean {
    return this.startupComplete_ && this.fatalError_ === null;
  }

  get status(): HealthStatus {
    if (this.fatalError_ !== null) return 'ERROR';
    if (this.activeStreams_ > 0) return 'OK';
    if (this.startupComplete_) return 'IDLE';
    return 'LOADING';
  }

  setStartupComplete(): void {
    this.startupComplete_ = true;
  }
  setFatalError(message: string): void {
    this.fatalError_ = message;
  }
  clearFatalError(): void {
    this.fatalError_ = null;
  }
  setActiveStreams(n: number): void {
    this.activeStreams_ = n;
  }
  setShuttingDown(): void {
    this.shuttingDown_ = true;
  }

  currentState(additionalInfo: Record<string, unknown> = {}): CurrentState {
    const status = this.status;
    return {
      status,
      state: status,
      error_message: this.fatalError_,
      pipeline_ready: this.pipelineReady,
      active_streams: this.activeStreams_,
      startup_complete: this.startupComplete_,
      pipeline_state: status,
      additional_info: additionalInfo,
    };
  }
}
