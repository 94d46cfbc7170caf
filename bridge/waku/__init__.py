"""The Waku v2 messaging layer: WakuMessage, topics, hashing, and node clients."""
