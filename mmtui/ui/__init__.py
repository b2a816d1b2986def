"""The Textual app. Import ``mmtui.ui.app`` for it; ``mmtui.ui.draw`` stays Textual-free."""
