"""The dashboard's charts: an hour of per-minute points, the minute's p99, drawn as valid SVG."""

from xml.etree import ElementTree

from app.dashboard.charts import HEIGHT, PAD, WIDTH, History, Point, chart, p99_ms, polyline
from app.metrics import LATENCY_BUCKETS

SVG = "{http://www.w3.org/2000/svg}"


def test_a_minute_keeps_its_newest_sample_and_the_hour_keeps_sixty_minutes():
    history = History()
    history.record(Point(100, online=1))
    history.record(Point(100, online=3))
    assert [p.online for p in history.points] == [3]
    for minute in range(101, 200):
        history.record(Point(minute, online=minute))
    assert len(history.points) == 60
    assert history.points[0].minute == 140 and history.points[-1].minute == 199


def test_a_late_sample_for_an_older_minute_is_ignored():
    history = History()
    history.record(Point(10, messages=5))
    history.record(Point(9, messages=99))
    assert history.series("messages") == [(10, 5)]


def test_p99_is_the_bucket_bound_holding_the_99th_percentile():
    counts = [0] * (len(LATENCY_BUCKETS) + 1)
    counts[0] = 99  # 99 deliveries within the first bound
    counts[3] = 1  # one within the fourth
    assert p99_ms(counts, LATENCY_BUCKETS) == LATENCY_BUCKETS[0] * 1000
    counts[3] = 2
    assert p99_ms(counts, LATENCY_BUCKETS) == LATENCY_BUCKETS[3] * 1000
    counts[-1] = 100  # past every bound: shown as the last bound
    assert p99_ms(counts, LATENCY_BUCKETS) == LATENCY_BUCKETS[-1] * 1000
    assert p99_ms([0] * len(counts), LATENCY_BUCKETS) is None


def test_points_run_from_the_left_an_hour_ago_to_now_at_the_right_scaled_to_the_peak():
    points = polyline([(0, 0.0), (59, 10.0)], now_minute=59, peak=10.0)
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in points.split())
    assert (x0, y0) == (PAD, HEIGHT - PAD)  # an hour ago, zero: bottom left
    assert (x1, y1) == (WIDTH - PAD, PAD)  # now, at the peak: top right
    assert polyline([(0, 5.0), (1, None)], now_minute=200, peak=10.0) == ""  # too old, no value


def test_a_chart_shares_one_round_scale_between_its_lines():
    history = History()
    history.record(Point(1, online=3, away=7))
    c = chart("people", history, ("online", "away"), now_minute=1)
    assert c.peak == 10
    assert [line.name for line in c.lines] == ["online", "away"]
    assert [line.last for line in c.lines] == [3, 7]


async def test_the_rendered_charts_are_valid_svg_with_their_points(app):
    from app.web.render import Renderer

    history = History()
    for minute, messages in ((58, 2), (59, 4), (60, 1)):
        history.record(Point(minute, messages=messages, p99_ms=None if minute < 60 else 25.0))
    charts = [chart("messages", history, ("messages",), 60),
              chart("latency", history, ("p99_ms",), 60)]
    rendered = await Renderer(app).each_language("dashboard/_charts.html", charts=charts)
    html = rendered["en"]
    assert "1分あたりのメッセージ" in rendered["ja"]
    root = ElementTree.fromstring(f"<div>{html}</div>")  # well-formed, or this raises
    svgs = root.findall(f".//{SVG}svg")
    assert len(svgs) == 2
    lines = [svg.find(f"{SVG}polyline") for svg in svgs]
    assert len(lines[0].get("points").split()) == 3  # three minutes of messages
    assert len(lines[1].get("points").split()) == 1  # latency only where there were deliveries
    assert "style" not in html  # CSP style-src 'self': classes and SVG attributes only
    assert "Messages per minute" in html
