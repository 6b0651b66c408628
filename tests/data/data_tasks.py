"""Realistic data tasks for the data-values suite (issue 13): each a %%search cell body (the
context below is prepended), a correct candidate and subtly wrong ones (NaN handling, int vs
float dtype, index not reset, row order, ...). Loaded by ``tests/test_data_tasks.py``."""

CONTEXT = "import numpy as np\nimport pandas as pd\n\n"

SALES = (
    'sales = pd.DataFrame({"region": ["n", "s", "n", "e", "s", "n"], "product": ["a", "a", "b", "b", "a", "a"],\n'
    '                      "units": [3, 1, 4, 1, 5, 9], "price": [2.0, 2.0, 3.5, 3.5, 2.0, 2.0]})\n'
)

TASKS: list[dict[str, object]] = [
    {
        "name": "groupby_sum_sorted",
        "spec": '''
def units_by_region(df):
    """Total units per region, largest first, as a frame with columns region, units."""

''' + SALES + '''
assert units_by_region(sales).equals(pd.DataFrame({"region": ["n", "s", "e"], "units": [16, 6, 1]}))
''',
        "good": 'def units_by_region(df):\n    out = df.groupby("region", as_index=False)["units"].sum()\n'
                '    return out.sort_values("units", ascending=False).reset_index(drop=True)\n',
        "bad": ['def units_by_region(df):\n    out = df.groupby("region", as_index=False)["units"].sum()\n'
                '    return out.sort_values("units", ascending=False)\n',
                'def units_by_region(df):\n    return df.groupby("region", as_index=False)["units"].sum()\n'],
    },
    {
        "name": "groupby_agg_named",
        "spec": '''
def revenue_stats(df):
    """Per product: total revenue (units * price) and mean units, indexed by product."""

''' + SALES + '''
expected = pd.DataFrame({"revenue": [36.0, 17.5], "mean_units": [4.5, 2.5]}, index=pd.Index(["a", "b"], name="product"))
pd.testing.assert_frame_equal(revenue_stats(sales), expected)
''',
        "good": 'def revenue_stats(df):\n    d = df.assign(revenue=df.units * df.price)\n'
                '    return d.groupby("product").agg(revenue=("revenue", "sum"), mean_units=("units", "mean"))\n',
        "bad": ['def revenue_stats(df):\n    d = df.assign(revenue=df.units * df.price)\n'
                '    return d.groupby("product").agg(revenue=("revenue", "sum"), mean_units=("units", "median"))\n',
                'def revenue_stats(df):\n    d = df.assign(revenue=df.units * df.price)\n'
                '    return d.groupby("product", as_index=False).agg(revenue=("revenue", "sum"), '
                'mean_units=("units", "mean"))\n'],
    },
    {
        "name": "groupby_count_vs_size",
        "spec": '''
def answered(df):
    """How many non-missing scores each student has, as a Series indexed by student."""

df = pd.DataFrame({"student": ["x", "x", "y", "y", "y"], "score": [1.0, None, 2.0, None, None]})
assert answered(df).to_dict() == {"x": 1, "y": 1}
''',
        "good": 'def answered(df):\n    return df.groupby("student")["score"].count()\n',
        "bad": ['def answered(df):\n    return df.groupby("student")["score"].size()\n'],
    },
    {
        "name": "merge_left_keeps_all",
        "spec": '''
def with_names(orders, customers):
    """Orders with the customer's name added; orders without a known customer keep a missing name."""

orders = pd.DataFrame({"order": [1, 2, 3], "cid": [10, 20, 30]})
customers = pd.DataFrame({"cid": [10, 30], "name": ["ann", "cy"]})
out = with_names(orders, customers)
assert out.shape == (3, 3)
assert out["name"].isna().tolist() == [False, True, False]
''',
        "good": 'def with_names(orders, customers):\n    return orders.merge(customers, on="cid", how="left")\n',
        "bad": ['def with_names(orders, customers):\n    return orders.merge(customers, on="cid")\n'],
    },
    {
        "name": "merge_suffixes",
        "spec": '''
def compare_prices(old, new):
    """Items in both frames with columns item, price_old, price_new."""

old = pd.DataFrame({"item": ["a", "b"], "price": [1.0, 2.0]})
new = pd.DataFrame({"item": ["b", "a"], "price": [2.5, 1.0]})
assert list(compare_prices(old, new).columns) == ["item", "price_old", "price_new"]
assert compare_prices(old, new)["price_new"].tolist() == [1.0, 2.5]
''',
        "good": 'def compare_prices(old, new):\n    return old.merge(new, on="item", suffixes=("_old", "_new"))\n',
        "bad": ['def compare_prices(old, new):\n    return new.merge(old, on="item", suffixes=("_new", "_old"))'
                '[["item", "price_old", "price_new"]]\n'],
    },
    {
        "name": "pivot_table_fill",
        "spec": '''
def units_table(df):
    """Units by region (rows) and product (columns), summed; missing combinations are 0 (ints)."""

''' + SALES + '''
expected = pd.DataFrame({"a": [0, 12, 6], "b": [1, 4, 0]}, index=pd.Index(["e", "n", "s"], name="region"))
expected.columns.name = "product"
pd.testing.assert_frame_equal(units_table(sales), expected)
''',
        "good": 'def units_table(df):\n    return df.pivot_table(index="region", columns="product", values="units", '
                'aggfunc="sum", fill_value=0)\n',
        "bad": ['def units_table(df):\n    return df.pivot_table(index="region", columns="product", values="units", '
                'aggfunc="sum").fillna(0)\n'],
    },
    {
        "name": "pivot_wide",
        "spec": '''
def wide(df):
    """One row per day, one column per sensor, values as they are."""

df = pd.DataFrame({"day": [1, 1, 2, 2], "sensor": ["t", "h", "t", "h"], "value": [20.5, 0.3, 21.0, 0.4]})
assert wide(df).loc[2, "t"] == 21.0
assert list(wide(df).columns) == ["h", "t"]
assert wide(df).index.tolist() == [1, 2]
''',
        "good": 'def wide(df):\n    return df.pivot(index="day", columns="sensor", values="value")\n',
        "bad": ['def wide(df):\n    return df.pivot(index="sensor", columns="day", values="value").T[["t", "h"]]\n'],
    },
    {
        "name": "fillna_mean",
        "spec": '''
def fill_mean(s):
    """Missing values replaced by the mean of the others."""

s = pd.Series([1.0, None, 3.0, None], name="x")
assert fill_mean(s).equals(pd.Series([1.0, 2.0, 3.0, 2.0], name="x"))
''',
        "good": 'def fill_mean(s):\n    return s.fillna(s.mean())\n',
        "bad": ['def fill_mean(s):\n    return s.fillna(s.fillna(0).mean())\n',
                'def fill_mean(s):\n    return s.interpolate()\n'],
    },
    {
        "name": "forward_fill_per_group",
        "spec": '''
def ffill_by_key(df):
    """The value column forward-filled within each key (never across keys)."""

df = pd.DataFrame({"key": ["a", "a", "b", "b"], "value": [1.0, None, None, 4.0]})
assert ffill_by_key(df)["value"].tolist()[:2] == [1.0, 1.0]
assert np.isnan(ffill_by_key(df)["value"].iloc[2])
''',
        "good": 'def ffill_by_key(df):\n    out = df.copy()\n    out["value"] = df.groupby("key")["value"].ffill()\n'
                '    return out\n',
        "bad": ['def ffill_by_key(df):\n    return df.ffill()\n'],
    },
    {
        "name": "dropna_subset",
        "spec": '''
def complete_emails(df):
    """Rows that have an email, renumbered from 0."""

df = pd.DataFrame({"name": ["a", "b", None], "email": ["a@x", None, "c@x"]})
assert complete_emails(df).equals(pd.DataFrame({"name": ["a", None], "email": ["a@x", "c@x"]}))
''',
        "good": 'def complete_emails(df):\n    return df.dropna(subset=["email"]).reset_index(drop=True)\n',
        "bad": ['def complete_emails(df):\n    return df.dropna().reset_index(drop=True)\n',
                'def complete_emails(df):\n    return df.dropna(subset=["email"])\n'],
    },
    {
        "name": "parse_dates",
        "spec": '''
def parse_days(s):
    """Day-first date strings (dd/mm/yyyy) as datetimes."""

s = pd.Series(["01/02/2024", "13/02/2024"])
assert parse_days(s).dt.month.tolist() == [2, 2]
assert parse_days(s).dt.day.tolist() == [1, 13]
''',
        "good": 'def parse_days(s):\n    return pd.to_datetime(s, format="%d/%m/%Y")\n',
        "bad": ['def parse_days(s):\n    return pd.to_datetime(s, format="mixed")\n'],
    },
    {
        "name": "parse_dates_coerce",
        "spec": '''
def parse_or_nat(s):
    """ISO dates as datetimes; anything unparseable becomes NaT."""

s = pd.Series(["2024-01-05", "not a date", "2024-02-30"])
out = parse_or_nat(s)
assert out.isna().tolist() == [False, True, True]
assert out.iloc[0] == pd.Timestamp("2024-01-05")
''',
        "good": 'def parse_or_nat(s):\n    return pd.to_datetime(s, errors="coerce", format="%Y-%m-%d")\n',
        "bad": ['def parse_or_nat(s):\n    return pd.to_datetime(s.where(s.str.len() == 10), errors="coerce", '
                'format="%Y-%m-%d").fillna(pd.Timestamp("2024-02-29"))\n'],
    },
    {
        "name": "weekday_names",
        "spec": '''
def weekdays(s):
    """The weekday name of each date."""

s = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-06"]))
assert weekdays(s).tolist() == ["Monday", "Saturday"]
''',
        "good": 'def weekdays(s):\n    return s.dt.day_name()\n',
        "bad": ['def weekdays(s):\n    return s.dt.strftime("%a")\n'],
    },
    {
        "name": "resample_daily_sum",
        "spec": '''
def daily_total(s):
    """Sum per calendar day of a time-indexed series; days without data are 0."""

idx = pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-03 08:00"])
s = pd.Series([1, 2, 5], index=idx)
expected = pd.Series([3, 0, 5], index=pd.date_range("2024-01-01", periods=3, freq="D"))
pd.testing.assert_series_equal(daily_total(s), expected)
''',
        "good": 'def daily_total(s):\n    return s.resample("D").sum()\n',
        "bad": ['def daily_total(s):\n    return s.groupby(s.index.normalize()).sum()\n',
                'def daily_total(s):\n    return s.resample("D").sum().astype(float)\n'],
    },
    {
        "name": "resample_monthly_mean",
        "spec": '''
def monthly_mean(df):
    """Mean temperature per month (month-end labels)."""

df = pd.DataFrame({"temp": [1.0, 3.0, 10.0]}, index=pd.to_datetime(["2024-01-10", "2024-01-20", "2024-02-05"]))
out = monthly_mean(df)
assert out["temp"].tolist() == [2.0, 10.0]
assert out.index[0] == pd.Timestamp("2024-01-31")
''',
        "good": 'def monthly_mean(df):\n    return df.resample("ME").mean()\n',
        "bad": ['def monthly_mean(df):\n    return df.resample("MS").mean()\n'],
    },
    {
        "name": "rolling_mean",
        "spec": '''
def smooth(s):
    """Mean of each value and the two before it; the first two are missing."""

s = pd.Series([1.0, 2.0, 3.0, 4.0])
out = smooth(s)
assert out.isna().sum() == 2
assert out.iloc[3] == 3.0
''',
        "good": 'def smooth(s):\n    return s.rolling(3).mean()\n',
        "bad": ['def smooth(s):\n    return s.rolling(3, min_periods=1).mean()\n'],
    },
    {
        "name": "string_clean",
        "spec": '''
def clean_names(s):
    """Names stripped of surrounding spaces and title-cased."""

s = pd.Series(["  ada lovelace", "ALAN turing  "])
assert clean_names(s).tolist() == ["Ada Lovelace", "Alan Turing"]
''',
        "good": 'def clean_names(s):\n    return s.str.strip().str.title()\n',
        "bad": ['def clean_names(s):\n    return s.str.title()\n'],
    },
    {
        "name": "string_split_expand",
        "spec": '''
def split_email(s):
    """User and domain of each email, as columns user and domain."""

s = pd.Series(["ann@x.org", "bo@y.com"])
assert split_email(s).equals(pd.DataFrame({"user": ["ann", "bo"], "domain": ["x.org", "y.com"]}))
''',
        "good": 'def split_email(s):\n    out = s.str.split("@", expand=True)\n    out.columns = ["user", "domain"]\n'
                '    return out\n',
        "bad": ['def split_email(s):\n    out = s.str.split("@", expand=True)\n    return out\n'],
    },
    {
        "name": "string_contains_na",
        "spec": '''
def mentions_cat(s):
    """Whether each text mentions 'cat' (any case); a missing text does not."""

s = pd.Series(["A Cat", None, "dog"])
assert mentions_cat(s).tolist() == [True, False, False]
''',
        "good": 'def mentions_cat(s):\n    return s.str.contains("cat", case=False, na=False)\n',
        "bad": ['def mentions_cat(s):\n    return s.str.contains("cat", na=False)\n'],
    },
    {
        "name": "boolean_mask_filter",
        "spec": '''
def big_orders(df, threshold):
    """Rows with amount above threshold, keeping their original index."""

df = pd.DataFrame({"amount": [5, 50, 500, 50]})
assert big_orders(df, 40).index.tolist() == [1, 2, 3]
assert (big_orders(df, 50)["amount"] == 500).all()
''',
        "good": 'def big_orders(df, threshold):\n    return df[df["amount"] > threshold]\n',
        "bad": ['def big_orders(df, threshold):\n    return df[df["amount"] >= threshold]\n',
                'def big_orders(df, threshold):\n    return df[df["amount"] > threshold].reset_index(drop=True)\n'],
    },
    {
        "name": "boolean_mask_combined",
        "spec": '''
def adults_in(df, city):
    """Names of people 18 or older living in city, in the frame's order."""

df = pd.DataFrame({"name": ["a", "b", "c", "d"], "age": [17, 18, 40, 30], "city": ["x", "x", "y", "x"]})
assert adults_in(df, "x") == ["b", "d"]
''',
        "good": 'def adults_in(df, city):\n    return df[(df.age >= 18) & (df.city == city)]["name"].tolist()\n',
        "bad": ['def adults_in(df, city):\n    return df[(df.age > 18) & (df.city == city)]["name"].tolist()\n',
                'def adults_in(df, city):\n'
                '    return sorted(df[(df.age >= 18) | (df.city == city)]["name"].tolist())\n'],
    },
    {
        "name": "value_counts_normalized",
        "spec": '''
def shares(s):
    """Share of each value, largest first."""

s = pd.Series(["a", "b", "a", "a"])
assert shares(s).to_dict() == {"a": 0.75, "b": 0.25}
assert shares(s).index[0] == "a"
''',
        "good": 'def shares(s):\n    return s.value_counts(normalize=True)\n',
        "bad": ['def shares(s):\n    return s.value_counts()\n'],
    },
    {
        "name": "astype_int_after_fill",
        "spec": '''
def counts_as_int(s):
    """Counts with missing as 0, as int64."""

s = pd.Series([1.0, None, 3.0])
assert counts_as_int(s).dtype == np.int64
assert counts_as_int(s).tolist() == [1, 0, 3]
''',
        "good": 'def counts_as_int(s):\n    return s.fillna(0).astype("int64")\n',
        "bad": ['def counts_as_int(s):\n    return s.fillna(0)\n'],
    },
    {
        "name": "nullable_int",
        "spec": '''
def ages(s):
    """Ages parsed from text as nullable integers (Int64); blanks are missing."""

s = pd.Series(["12", "", "40"])
out = ages(s)
assert str(out.dtype) == "Int64"
assert out.isna().tolist() == [False, True, False]
assert out.iloc[2] == 40
''',
        "good": 'def ages(s):\n    return pd.to_numeric(s.replace("", None)).astype("Int64")\n',
        "bad": ['def ages(s):\n    return pd.to_numeric(s.replace("", None))\n'],
    },
    {
        "name": "categorical_order",
        "spec": '''
def as_sizes(s):
    """Sizes as an ordered categorical small < medium < large."""

s = pd.Series(["large", "small", "medium"])
out = as_sizes(s)
assert out.cat.ordered
assert out.sort_values().tolist() == ["small", "medium", "large"]
''',
        "good": 'def as_sizes(s):\n'
                '    return s.astype(pd.CategoricalDtype(["small", "medium", "large"], ordered=True))\n',
        "bad": ['def as_sizes(s):\n'
                '    return s.astype(pd.CategoricalDtype(["small", "large", "medium"], ordered=True))\n',
                'def as_sizes(s):\n    return s.astype("category")\n'],
    },
    {
        "name": "cumsum_per_group",
        "spec": '''
def running_total(df):
    """Running total of amount within each account, in the frame's row order."""

df = pd.DataFrame({"acct": ["a", "b", "a", "b"], "amount": [1, 10, 2, 20]})
assert running_total(df).tolist() == [1, 10, 3, 30]
''',
        "good": 'def running_total(df):\n    return df.groupby("acct")["amount"].cumsum()\n',
        "bad": ['def running_total(df):\n    return df.sort_values("acct").groupby("acct")["amount"].cumsum()'
                '.reset_index(drop=True)\n'],
    },
    {
        "name": "rank_dense",
        "spec": '''
def place(s):
    """Dense rank, highest score first (1 = best), as ints."""

s = pd.Series([10, 30, 30, 20])
assert place(s).tolist() == [3, 1, 1, 2]
''',
        "good": 'def place(s):\n    return s.rank(method="dense", ascending=False).astype(int)\n',
        "bad": ['def place(s):\n    return s.rank(method="min", ascending=False).astype(int)\n'],
    },
    {
        "name": "top_n_per_group",
        "spec": '''
def best_per_team(df):
    """The highest-scoring row of each team, teams in alphabetical order, renumbered."""

df = pd.DataFrame({"team": ["b", "a", "b", "a"], "player": ["p", "q", "r", "s"], "score": [5, 7, 9, 1]})
expected = pd.DataFrame({"team": ["a", "b"], "player": ["q", "r"], "score": [7, 9]})
pd.testing.assert_frame_equal(best_per_team(df), expected)
''',
        "good": 'def best_per_team(df):\n    out = df.sort_values("score", ascending=False).groupby("team").head(1)\n'
                '    return out.sort_values("team").reset_index(drop=True)\n',
        "bad": ['def best_per_team(df):\n    out = df.sort_values("score").groupby("team").head(1)\n'
                '    return out.sort_values("team").reset_index(drop=True)\n'],
    },
    {
        "name": "numpy_normalize_rows",
        "spec": '''
def normalize_rows(a):
    """Each row divided by its sum."""

a = np.array([[1.0, 3.0], [2.0, 2.0]])
np.testing.assert_allclose(normalize_rows(a), [[0.25, 0.75], [0.5, 0.5]])
''',
        "good": 'import numpy as np\ndef normalize_rows(a):\n    return a / a.sum(axis=1, keepdims=True)\n',
        "bad": ['import numpy as np\ndef normalize_rows(a):\n    return a / a.sum(axis=0)\n'],
    },
    {
        "name": "numpy_zscore",
        "spec": '''
def zscore(a):
    """Standardised values: mean 0, population standard deviation 1."""

a = np.array([1.0, 2.0, 3.0, 4.0])
assert np.allclose(zscore(a), (a - 2.5) / np.sqrt(1.25))
''',
        "good": 'def zscore(a):\n    return (a - a.mean()) / a.std()\n',
        "bad": ['import numpy as np\ndef zscore(a):\n    return (a - a.mean()) / np.std(a, ddof=1)\n'],
    },
    {
        "name": "numpy_clip_int",
        "spec": '''
def to_bytes_range(a):
    """Values clipped to 0..255 as uint8."""

a = np.array([-5, 100, 300])
out = to_bytes_range(a)
assert out.dtype == np.uint8
assert (out == np.array([0, 100, 255])).all()
''',
        "good": 'import numpy as np\ndef to_bytes_range(a):\n    return np.clip(a, 0, 255).astype(np.uint8)\n',
        "bad": ['import numpy as np\ndef to_bytes_range(a):\n    return a.astype(np.uint8)\n',
                'import numpy as np\ndef to_bytes_range(a):\n    return np.clip(a, 0, 255)\n'],
    },
    {
        "name": "numpy_nanmean",
        "spec": '''
def column_means(a):
    """Mean of each column, ignoring NaN."""

a = np.array([[1.0, np.nan], [3.0, 4.0]])
assert column_means(a).shape == (2,)
np.testing.assert_allclose(column_means(a), [2.0, 4.0])
''',
        "good": 'import numpy as np\ndef column_means(a):\n    return np.nanmean(a, axis=0)\n',
        "bad": ['import numpy as np\ndef column_means(a):\n    return np.nan_to_num(a).mean(axis=0)\n'],
    },
    {
        "name": "numpy_where",
        "spec": '''
def signs(a):
    """-1, 0 or 1 for each value, as ints."""

a = np.array([-2.5, 0.0, 7.0])
assert np.array_equal(signs(a), np.array([-1, 0, 1]))
assert signs(a).dtype.kind == "i"
''',
        "good": 'import numpy as np\ndef signs(a):\n    return np.sign(a).astype(int)\n',
        "bad": ['import numpy as np\ndef signs(a):\n    return np.where(a > 0, 1, -1)\n',
                'import numpy as np\ndef signs(a):\n    return np.sign(a)\n'],
    },
    {
        "name": "numpy_moving_sum",
        "spec": '''
def window_sums(a, k):
    """Sums of every k consecutive values."""

a = np.arange(1, 6)
assert (window_sums(a, 2) == np.array([3, 5, 7, 9])).all()
assert window_sums(a, 5).tolist() == [15]
''',
        "good": 'import numpy as np\ndef window_sums(a, k):\n    c = np.cumsum(np.concatenate([[0], a]))\n'
                '    return c[k:] - c[:-k]\n',
        "bad": ['import numpy as np\ndef window_sums(a, k):\n'
                '    return np.convolve(a, np.ones(k, dtype=int), "same")\n'],
    },
    {
        "name": "duplicates_keep_last",
        "spec": '''
def latest_per_id(df):
    """The last row of each id, in order of those rows."""

df = pd.DataFrame({"id": [1, 2, 1], "v": ["old", "x", "new"]})
assert latest_per_id(df)["v"].tolist() == ["x", "new"]
assert latest_per_id(df).index.tolist() == [1, 2]
''',
        "good": 'def latest_per_id(df):\n    return df.drop_duplicates("id", keep="last")\n',
        "bad": ['def latest_per_id(df):\n    return df.drop_duplicates("id")\n'],
    },
    {
        "name": "melt_long",
        "spec": '''
def to_long(df):
    """Columns q1, q2 melted into rows (id, quarter, value), sorted by id then quarter, renumbered."""

df = pd.DataFrame({"id": [2, 1], "q1": [5, 6], "q2": [7, 8]})
out = to_long(df)
assert out.columns.tolist() == ["id", "quarter", "value"]
assert out["value"].tolist() == [6, 8, 5, 7]
assert out.index.equals(pd.RangeIndex(4))
''',
        "good": 'def to_long(df):\n    out = df.melt(id_vars="id", var_name="quarter", value_name="value")\n'
                '    return out.sort_values(["id", "quarter"]).reset_index(drop=True)\n',
        "bad": ['def to_long(df):\n    out = df.melt(id_vars="id", var_name="quarter", value_name="value")\n'
                '    return out.sort_values(["id", "quarter"])\n'],
    },
    {
        "name": "datetime_diff_days",
        "spec": '''
def days_open(df):
    """Whole days between opened and closed; still-open tickets (no closed date) are missing."""

df = pd.DataFrame({"opened": pd.to_datetime(["2024-01-01", "2024-01-10"]),
                   "closed": pd.to_datetime(["2024-01-04", None])})
out = days_open(df)
assert out.iloc[0] == 3
assert out.isna().tolist() == [False, True]
''',
        "good": 'def days_open(df):\n    return (df.closed - df.opened).dt.days\n',
        "bad": ['import pandas as pd\ndef days_open(df):\n    return (df.closed.fillna(pd.Timestamp("2024-01-10")) - '
                'df.opened).dt.days\n'],
    },
    {
        "name": "multiindex_unstack",
        "spec": '''
def by_year_quarter(df):
    """Sales summed per (year, quarter), with years as rows and quarters as columns."""

df = pd.DataFrame({"year": [2023, 2023, 2024, 2024, 2024], "quarter": [1, 2, 1, 1, 2], "sales": [1, 2, 3, 4, 5]})
out = by_year_quarter(df)
assert out.loc[2024, 1] == 7
assert out.shape == (2, 2)
''',
        "good": 'def by_year_quarter(df):\n    return df.groupby(["year", "quarter"])["sales"].sum().unstack()\n',
        "bad": ['def by_year_quarter(df):\n    return df.groupby(["year", "quarter"])["sales"].max().unstack()\n'],
    },
    {
        "name": "mutate_in_place",
        "spec": '''
def fill_inplace(df, a):
    """Fill df's missing x with 0 and double the array a, both in place."""

df = pd.DataFrame({"x": [1.0, None]})
a = np.array([1, 2])
fill_inplace(df, a)
assert df["x"].tolist() == [1.0, 0.0]
assert (a == np.array([2, 4])).all()
''',
        "good": "def fill_inplace(df, a):\n    df['x'] = df['x'].fillna(0)\n    a *= 2\n",
        "bad": ["def fill_inplace(df, a):\n    df = df.fillna(0)\n    a = a * 2\n",
                "def fill_inplace(df, a):\n    df['x'] = df['x'].fillna(-1)\n    a *= 2\n"],
    },
]
