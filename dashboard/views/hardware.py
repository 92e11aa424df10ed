"""Hardware & prices: the accelerator catalog, the price sheets (upload, edit: editors only) and cost settings."""

import io

import pandas as pd
import streamlit as st

from core.errors import InvalidPriceSheet
from core.views import cost, pricing
from dashboard import actions, auth, data, state


def bounds(setting: str) -> tuple[float, float]:
    """A cost setting's (min_value, max_value), as core's CostSettings accepts it."""
    low, high, _ = cost.LIMITS[setting]
    return float(low), float(high)


st.title("Hardware & prices")
catalog_tab, sheets_tab, settings_tab = st.tabs(["Accelerator catalog", "Price sheets", "Cost & carbon settings"])

with catalog_tab:
    catalog = pd.DataFrame([a.__dict__ for a in data.accelerators()])
    catalog["aliases"] = catalog["aliases"].map(", ".join)
    left, right = st.columns(2)
    types = left.multiselect("Type", ["GPU", "TPU", "ASIC", "FPGA", "CPU"], placeholder="all")
    vendors = right.multiselect("Vendor", sorted(catalog["vendor"].unique()), placeholder="all")
    shown = catalog[catalog["type"].isin(types or catalog["type"]) & catalog["vendor"].isin(vendors or catalog["vendor"])]
    st.dataframe(shown.drop(columns=["aliases"]), hide_index=True, column_config={
        "source_url": st.column_config.LinkColumn("source"),
        "purchase_price_usd": st.column_config.NumberColumn("price ($)", format="%,.0f"),
    })
    st.caption("Dense peak TFLOP/s (vendors often print with-sparsity figures; those are halved here and the "
               "note says so). MFU (in the hover of Explore's charts) = achieved TFLOP/s ÷ the dense peak for the probe's "
               "precision.")

with sheets_tab:
    sheets = data.all_sheets()
    name = st.selectbox("Sheet", list(sheets), key=state.SHEET_TO_VIEW,
                        format_func=lambda n: f"{n} ({sheets[n].origin}, {len(sheets[n].rows)} rows)")
    sheet = sheets[name]
    frame = pd.DataFrame([r.__dict__ for r in sheet.rows])
    if not auth.current_identity().is_editor:
        st.dataframe(frame, hide_index=True, column_config={"source_url": st.column_config.LinkColumn("source_url")})
        st.caption("Read-only: editing or uploading a price sheet needs an editor (sign in in the sidebar).")
    else:
        st.caption("Edit cells in place (add or delete rows too), then use the edits: they are validated like an "
                   "upload and kept for this browser session. Bundled files are never changed.")
        edited = st.data_editor(frame, num_rows="dynamic", hide_index=True, key=state.editor_key(name),
                                column_config={"source_url": st.column_config.LinkColumn("source_url")})
        if st.button("Use my edits", disabled=edited.equals(frame)):
            buffer = io.StringIO()
            edited.to_csv(buffer, index=False)
            edited_name = name if name.endswith("(edited)") else f"{name} (edited)"
            try:
                new_sheet = pricing.parse_sheet(buffer.getvalue().encode(), f"{edited_name}.csv", origin="edited")
                actions.add_price_sheet(pricing.PriceSheet(edited_name, new_sheet.rows, "edited"), use=True)
            except InvalidPriceSheet as exc:
                st.error(f"Edits not used: {exc}")
            except auth.NotAllowed as exc:
                st.error(str(exc))
            else:
                st.success(f"Using “{edited_name}” for cost on Explore.")

        st.divider()
        st.subheader("Upload your own price sheet")
        st.caption("CSV, UTF-8, with the columns of the bundled sheets: "
                   + ", ".join(c.name for c in pricing.SHEET_COLUMNS))
        upload = st.file_uploader("Price sheet (.csv)", type=["csv"], key=state.SHEET_UPLOAD)
        if upload is not None:
            try:
                uploaded = pricing.parse_sheet(upload.getvalue(), upload.name, origin="uploaded")
                actions.add_price_sheet(uploaded)
            except InvalidPriceSheet as exc:
                st.error(f"Not used: {exc}")
            except auth.NotAllowed as exc:
                st.error(str(exc))
            else:
                st.success(f"“{uploaded.name}” is valid ({len(uploaded.rows)} rows) and can be picked on Explore.")

with settings_tab:
    st.subheader("Own hardware")
    left, right = st.columns(2)
    left.number_input("Electricity price ($/kWh)", *bounds("electricity_usd_per_kwh"), step=0.01,
                      key=state.ELECTRICITY_USD_PER_KWH)
    left.number_input("Hardware lifetime (years)", *bounds("lifetime_years"), step=0.5, key=state.LIFETIME_YEARS)
    right.number_input("Hours used per year", *bounds("hours_per_year"), step=100.0, key=state.HOURS_PER_YEAR)
    right.number_input("Purchase price per device ($; 0 = catalog's typical price)", *bounds("purchase_price_usd"),
                       step=500.0, key=state.PURCHASE_PRICE_USD)
    st.caption("Own-hardware cost per 1M samples = electricity × measured energy + purchase price ÷ "
               "(lifetime × hours per year) × time for 1M samples.")
    st.subheader("Grid carbon intensity")
    regions = {r.key: r for r in data.grid_regions()}
    st.selectbox("Grid region", list(regions), key=state.REGION, format_func=lambda k: regions[k].label)
    region = regions[st.session_state[state.REGION]]
    st.caption(f"{region.g_co2_per_kwh:g} g CO2e/kWh — {region.source}")
    st.number_input("Override intensity (g CO2e/kWh; 0 = use the region's)", *bounds("g_co2_per_kwh"), step=10.0,
                    key=state.INTENSITY_OVERRIDE)
