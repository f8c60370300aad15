"""The root patterns Scarlog starts with: those of the seed's incident table.

Rule: docs/rules.md#cost-root-patterns
(silent fallbacks, unverified deployments and outputs, feature and training/inference
mismatches, missing risk checks). Migration 0002 inserts them; admins edit them after.
"""

SEED_PATTERNS = {
    "Silent fallback": "An error was caught and replaced by a default, masking a broken system.",
    "Unverified deployment": "A deployment was assumed to work without checking it.",
    "Unverified output": "Execution was checked but the output never was.",
    "Feature mismatch": "Training and inference feature lists diverged.",
    "Training/inference mismatch": "Training code or assumptions leaked into the inference path.",
    "Missing risk check": (
        "A trade or action went ahead without the risk check that should gate it."
    ),
}


def seed_root_patterns(root_pattern_model) -> None:
    """Create each seed pattern missing from `root_pattern_model` (a RootPattern class)."""
    for name, description in SEED_PATTERNS.items():
        root_pattern_model.objects.get_or_create(name=name, defaults={"description": description})
