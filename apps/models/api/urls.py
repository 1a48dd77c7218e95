"""API routes of the models app; each feature adds its urlpatterns here."""
urlpatterns: list = []
