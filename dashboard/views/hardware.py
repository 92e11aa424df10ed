"""Hardware & prices: the accelerator catalog, the price sheets (bundled, the team's in the store, this
session's; upload, edit and save for the team: editors only) and cost settings."""

from typing import Callable
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from core.errors import InvalidPriceSheet, StoreError
from core.views import cost, pricing
from dashboard import actions, auth, data, frames, state, widgets
from dashboard.fmt import MISSING, plain


def team_history(name: str) -> None:
    """Every saved version of a team sheet, newest first, in an expander."""
    kept = data.team_sheets().get(name)
    store = data.open_store(data.db_url())
    if kept is None or store is None or name in st.session_state.get(state.CUSTOM_SHEETS, {}):
        return
    try:
        versions = store.price_sheet_history(name)
    except StoreError as exc:
        st.error(plain(f"The history of team sheet {name} cannot be read: {exc}"))
        return
    with st.expander(f"Team sheet: {len(versions)} version{'s' * (len(versions) != 1)}, kept in the results store"):
        st.dataframe(pd.DataFrame([{"version": v["version"], "saved by": v["saved_by"],
                                    "saved at": data.utc_minute(v["saved_at"])} for v in reversed(versions)]),
                     hide_index=True)


def save_for_team(make_sheet: Callable[[], pricing.PriceSheet], default_name: str, where: str, what: str) -> None:
    """A name and "Save as team sheet" (editors): ``make_sheet()`` (validated again by the store)
    becomes the next version of that team sheet, for everyone using the store."""
    health = data.store_health()
    if not health.writable:
        why = ("cannot be used (see the message at the top)" if not health.usable else
               "is damaged (see the message at the top)" if health.damage else
               "is read-only (the file or its folder cannot be written)")
        st.caption(f"Team sheets are kept in the results store, which {why}: nothing can be saved for the team.")
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    team_name = left.text_input("Team sheet name", value=default_name, max_chars=64,
                                key=state.team_sheet_name_key(f"{where}:{default_name}"),
                                help="1 to 64 letters, digits, spaces or _ . ( ) -; not a bundled sheet's name")
    existing = data.team_sheets().get(team_name.strip())
    if right.button("Save as team sheet", key=state.team_sheet_save_key(where), icon=":material/group_add:",
                    use_container_width=True):
        store = data.open_store(data.db_url())
        try:
            if store is None:
                raise StoreError("the results store cannot be used now (see the message at the top); nothing was "
                                 "saved")
            version = actions.save_team_sheet(store, team_name, make_sheet())
        except (InvalidPriceSheet, StoreError) as exc:
            st.error(plain(f"Not saved: {exc}"))
        except auth.NotAllowed as exc:
            st.error(plain(exc))
        else:
            saved_name = team_name.strip()
            st.session_state[state.SHEET_SAVED] = (
                f"Saved “{saved_name}” as team sheet version {version}. Everyone using this results store can "
                f"pick it, and a link ending in ?{urlencode({'sheet': saved_name})} opens it.")
            st.session_state[state.SHEET_TO_VIEW_NEXT] = saved_name
            if where == "upload":  # a fresh uploader: the saved file is not taken again as this session's
                st.session_state[state.SHEET_UPLOADS_SAVED] = st.session_state.get(state.SHEET_UPLOADS_SAVED, 0) + 1
            st.rerun()
    if existing is not None:
        st.caption(plain(f"Saves {what} as version {existing.version + 1} of the team sheet “{team_name.strip()}” "
                         f"(now v{existing.version}, by {existing.saved_by}); earlier versions are kept."))
    else:
        st.caption(plain(f"Saves {what} in the results store for everyone using it, signed with your name."))


def bounds(setting: str) -> tuple[float, float]:
    """A cost setting's (min_value, max_value), as core's CostSettings accepts it."""
    low, high, _ = cost.LIMITS[setting]
    return float(low), float(high)


st.title("Hardware & prices")
sheets = widgets.settle_pricing()  # a link's sheet and region that do not exist here are replaced (and said)
catalog_tab, sheets_tab, settings_tab = st.tabs(["Accelerator catalog", "Price sheets", "Cost & carbon settings"])

with catalog_tab:
    catalog = pd.DataFrame([a.__dict__ for a in data.accelerators()])
    catalog["aliases"] = catalog["aliases"].map(", ".join)
    left, right = st.columns(2)
    types = left.multiselect("Type", ["GPU", "TPU", "ASIC", "FPGA", "CPU"], placeholder="all")
    vendors = right.multiselect("Vendor", sorted(catalog["vendor"].unique()), placeholder="all")
    shown = catalog[catalog["type"].isin(types or catalog["type"]) & catalog["vendor"].isin(vendors or catalog["vendor"])]
    st.dataframe(shown.drop(columns=["aliases"]), hide_index=True, placeholder=MISSING, column_config={
        "vendor": "vendor", "model": st.column_config.TextColumn("model", pinned=True), "type": "type",
        "fp32_tflops": st.column_config.NumberColumn("fp32 (TFLOP/s)", format="%,.4g"),
        "tf32_tflops": st.column_config.NumberColumn("tf32 (TFLOP/s)", format="%,.4g"),
        "bf16_tflops": st.column_config.NumberColumn("bf16 (TFLOP/s)", format="%,.4g"),
        "fp16_tflops": st.column_config.NumberColumn("fp16 (TFLOP/s)", format="%,.4g"),
        "int8_tops": st.column_config.NumberColumn("int8 (TOP/s)", format="%,.4g"),
        "memory_gb": st.column_config.NumberColumn("memory (GB)", format="%,.4g"),
        "memory_bandwidth_gbps": st.column_config.NumberColumn("memory bandwidth (GB/s)", format="%,.4g"),
        "tdp_w": st.column_config.NumberColumn("TDP (W)", format="%,.0f"),
        "release_year": st.column_config.NumberColumn("released", format="%d"),
        "source_url": st.column_config.LinkColumn("source"),
        "purchase_price_usd": st.column_config.NumberColumn("price ($)", format="$%,.0f"),
        "note": st.column_config.TextColumn("note", width="large"),
    })
    st.caption("Dense peak TFLOP/s (vendors often print with-sparsity figures; those are halved here and the "
               "note says so). MFU (in the hover of Explore's charts) = achieved TFLOP/s ÷ the dense peak for the probe's "
               "precision.")

with sheets_tab:
    saved = st.session_state.pop(state.SHEET_SAVED, None)
    if saved:
        st.success(plain(saved), icon=":material/group:")
    for problem in data.team_sheet_problems():
        st.warning(plain(problem))
    if state.SHEET_TO_VIEW_NEXT in st.session_state:  # the sheet just saved (its picker was drawn already then)
        st.session_state[state.SHEET_TO_VIEW] = st.session_state.pop(state.SHEET_TO_VIEW_NEXT)
    if st.session_state.get(state.SHEET_TO_VIEW) not in sheets:  # first visit: the sheet cost is priced on
        st.session_state[state.SHEET_TO_VIEW] = st.session_state[state.SHEET]
    name = st.selectbox("Sheet", list(sheets), key=state.SHEET_TO_VIEW,
                        format_func=lambda n: f"{widgets.sheet_label(n)} · {len(sheets[n].rows)} rows",
                        help="Bundled sheets ship with Accelscope; team sheets are kept in the results store for "
                             "everyone using it; this session's sheets were uploaded or edited here and are gone "
                             "when the browser tab is closed")
    sheet = sheets[name]
    team_history(name)
    frame = frames.price_sheet_frame(sheet)
    if not auth.current_identity().is_editor:
        st.dataframe(frame, hide_index=True, placeholder=MISSING,
                     column_config={"source_url": st.column_config.LinkColumn("source_url")})
        st.caption("Read-only: editing or uploading a price sheet needs an editor, and so does saving one for the "
                   "team (sign in in the sidebar).")
    else:
        st.caption("Edit cells in place (add or delete rows too), then use the edits in this browser session, or "
                   "save them for the team. Either way they are validated like an upload; bundled files are never "
                   "changed.")
        edited = st.data_editor(frame, num_rows="dynamic", hide_index=True, key=state.editor_key(name),
                                column_config={"source_url": st.column_config.LinkColumn("source_url")})
        unchanged = edited.equals(frame)
        edited_name = name if name.endswith("(edited)") else f"{name} (edited)"
        if st.button("Use my edits", disabled=unchanged,
                     help="For cost on every page, in this browser session only"):
            try:
                new_sheet = pricing.parse_sheet(frames.price_sheet_csv(edited), f"{edited_name}.csv", origin="edited")
                actions.add_price_sheet(pricing.PriceSheet(edited_name, new_sheet.rows, "edited"), use=True)
            except InvalidPriceSheet as exc:
                st.error(plain(f"Edits not used: {exc}"))
            except auth.NotAllowed as exc:
                st.error(plain(exc))
            else:
                st.success(plain(f"Using “{edited_name}” for cost on Explore (this browser session)."))

        def shown_sheet() -> pricing.PriceSheet:
            """The sheet as the editor shows it now: the edits, validated, or the sheet itself."""
            if unchanged:
                return sheet
            return pricing.parse_sheet(frames.price_sheet_csv(edited), f"{name}.csv", origin="edited")

        st.subheader("Save for the team")
        bundled = data.sheet_origin(name) == "bundled"
        save_for_team(shown_sheet, f"{name}-team" if bundled else name, "editor",
                      "the sheet above" + ("" if unchanged else ", with your edits"))

        st.divider()
        st.subheader("Upload your own price sheet")
        st.caption("CSV, UTF-8, with the columns of the bundled sheets: "
                   + ", ".join(c.name for c in pricing.SHEET_COLUMNS))
        upload = st.file_uploader("Price sheet (.csv)", type=["csv"], key=state.sheet_upload_key())
        if upload is not None:
            try:
                uploaded = pricing.parse_sheet(upload.getvalue(), upload.name, origin="uploaded")
                first_time = st.session_state.get(state.UPLOADED_SHEET_FILE) != (upload.name, upload.size)
                actions.add_price_sheet(uploaded, use=first_time)  # a new valid upload is the sheet priced on
                st.session_state[state.UPLOADED_SHEET_FILE] = (upload.name, upload.size)
            except InvalidPriceSheet as exc:
                st.error(plain(f"Not used: {exc}"))
            except auth.NotAllowed as exc:
                st.error(plain(exc))
            else:
                st.success(plain(f"“{uploaded.name}” is valid ({len(uploaded.rows)} rows) and can be picked on "
                                 "Explore in this browser session."))
                save_for_team(lambda: uploaded, uploaded.name, "upload", "the uploaded sheet")

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
