echo "say ${word}"
