"""The end-to-end jobs and command implementations (thin orchestration over the stages)."""
