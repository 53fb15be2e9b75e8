"""What turns the `.env` files and the templates into typed, validated values: the only part of cicd/ the stack imports."""
