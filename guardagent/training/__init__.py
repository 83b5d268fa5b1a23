"""Training: the corpus, the sandbox, rewards, and the SFT/GRPO glue over TRL + PEFT."""
