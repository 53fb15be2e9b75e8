"""The local AWS emulator (moto server with narrow patches), the main job that deploys into it, and the blue/green rehearsal."""
