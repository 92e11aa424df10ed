"""Accelscope's Streamlit dashboard. Imports core, never torch."""
