"""Dates and times, one way per language (FORMAT_MODULE_PATH): the lists, the timeline, the trail,
history pages and the chat (static/js/chat.js reads the same formats) all write a moment alike.
Input formats are Django's for the language."""
