"""agents for PyMIC; see COMPONENTS for what gets registered."""
COMPONENTS: list = []
