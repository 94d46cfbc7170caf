"""Platform adapters (Telegram, Discord) speaking the neutral types of bots.base."""
