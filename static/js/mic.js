// The microphone as 16 kHz PCM16 frames: getUserMedia → AudioWorklet (pcm-worklet.js).
// Errors are turned into sentences a learner can act on.

export class MicError extends Error {}

/** Start capturing; onFrame(ArrayBuffer of Int16 PCM, rms 0..1) every `frameMs`. Returns stop(). */
export async function startMic(onFrame, { frameMs = 100 } = {}) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MicError("This browser cannot use a microphone here (it needs https or localhost). You can type instead.");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (err) {
    if (err.name === "NotAllowedError" || err.name === "SecurityError") {
      throw new MicError("Microphone access was denied. Allow the microphone for this site in the browser's settings, or type instead.");
    }
    if (err.name === "NotFoundError" || err.name === "OverconstrainedError") {
      throw new MicError("No microphone was found. Plug one in, or type instead.");
    }
    if (err.name === "NotReadableError") {
      throw new MicError("The microphone is in use by another program. Close it, or type instead.");
    }
    throw new MicError(`The microphone could not start (${err.name}). You can type instead.`);
  }
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule("/static/js/pcm-worklet.js");
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "pcm-downsampler", {
    numberOfInputs: 1, numberOfOutputs: 0, processorOptions: { frameMs },
  });
  node.port.onmessage = (e) => onFrame(e.data.pcm, e.data.rms);
  source.connect(node);
  if (ctx.state === "suspended") await ctx.resume();
  return () => {
    node.port.onmessage = null;
    source.disconnect();
    for (const t of stream.getTracks()) t.stop();
    ctx.close();
  };
}
