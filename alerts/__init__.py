"""Act: BPM-style action tickets, their lifecycle, routing and notifications."""
