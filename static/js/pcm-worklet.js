// AudioWorklet processor: the microphone at the context's rate (44.1/48 kHz) in,
// 16 kHz mono 16-bit PCM frames out (the WebSocket's audio format).
//
// Downsampling is a windowed-sinc low-pass (Blackman, cut-off 7 kHz, below the
// 8 kHz Nyquist of the output so nothing aliases into speech bands) followed by
// linear interpolation at the fractional output positions; the filter already
// removed what linear interpolation would fold back. State carries across the
// 128-sample render quanta, so frames join without clicks.

const OUT_RATE = 16000;

function lowpass(taps, cutoff) {
  // cutoff: fraction of the input rate (0..0.5)
  const h = new Float32Array(taps);
  const m = (taps - 1) / 2;
  let sum = 0;
  for (let k = 0; k < taps; k++) {
    const x = k - m;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * k) / (taps - 1)) + 0.08 * Math.cos((4 * Math.PI * k) / (taps - 1));
    h[k] = sinc * w;
    sum += h[k];
  }
  for (let k = 0; k < taps; k++) h[k] /= sum;
  return h;
}

class PcmDownsampler extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.ratio = sampleRate / OUT_RATE;
    this.frame = Math.round((OUT_RATE * (o.frameMs || 100)) / 1000);
    this.h = this.ratio > 1.001 ? lowpass(127, 7000 / sampleRate) : Float32Array.of(1);
    this.buf = null; // the filter's input: the last taps-1 raw samples, then this quantum
    this.y = null; // this quantum, filtered
    this.prev = 0; // the last filtered sample of the previous quantum
    this.t = 0; // next output position, in input samples from the quantum's start
    this.out = new Int16Array(this.frame);
    this.n = 0;
    this.levelSum = 0;
    this.levelCount = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const len = channels[0].length;
    const taps = this.h.length;
    if (!this.buf || this.buf.length !== taps - 1 + len) {
      // allocated once, not per 128-sample quantum: no garbage on the audio thread
      this.buf = new Float32Array(taps - 1 + len);
      this.y = new Float32Array(len);
    }
    const buf = this.buf;
    const y = this.y;
    buf.copyWithin(0, buf.length - (taps - 1)); // the previous quantum's last raw samples
    buf.fill(0, taps - 1);
    for (const ch of channels) { // downmix into place
      for (let i = 0; i < len; i++) buf[taps - 1 + i] += ch[i] / channels.length;
    }
    for (let i = 0; i < len; i++) {
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += this.h[k] * buf[i + k];
      y[i] = acc;
    }

    while (this.t < len - 1) {
      const i = Math.floor(this.t);
      const frac = this.t - i;
      const a = i < 0 ? this.prev : y[i];
      const b = y[i + 1];
      const v = a + (b - a) * frac;
      this.out[this.n++] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
      this.levelSum += v * v;
      this.levelCount++;
      if (this.n === this.frame) this.flush();
      this.t += this.ratio;
    }
    this.t -= len;
    this.prev = y[len - 1];
    return true;
  }

  flush() {
    const pcm = this.out.slice(0, this.n);
    const rms = Math.sqrt(this.levelSum / Math.max(1, this.levelCount));
    this.port.postMessage({ pcm: pcm.buffer, rms }, [pcm.buffer]);
    this.n = 0;
    this.levelSum = 0;
    this.levelCount = 0;
  }
}

registerProcessor("pcm-downsampler", PcmDownsampler);
