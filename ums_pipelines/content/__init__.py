"""The content bank: items with a variant per channel, their variables, and previews."""
