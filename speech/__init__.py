"""Speech: audio input, voice activity, recognition and synthesis (issue 5)."""
