"""`relight ui` in a real browser: Debian's chromium, headless, driven by Selenium through chromedriver
(`make test` installs both when missing). The page is loaded from a server the test starts on a loopback
port; screenshots of the page are kept as test artifacts (``.artifacts/ui.png``, ``.artifacts/ui-one-to-one.png``)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from relight.demo import EXAMPLES
from relight.io import read_image

ARTIFACTS = Path(__file__).resolve().parent.parent / ".artifacts"
EXAMPLE = EXAMPLES / "validation" / "Image900.png"
EXAMPLE_DEPTH = EXAMPLES / "validation" / "Image900.npy"

#: The shown result image as the browser decoded it: its size, and the spread of its pixel values.
RESULT_PIXELS = """
const img = document.querySelector('#result img');
if (!img || !img.complete || img.naturalWidth === 0) return null;
const canvas = document.createElement('canvas');
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
const context = canvas.getContext('2d');
context.drawImage(img, 0, 0);
const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
let low = 255, high = 0, sum = 0;
for (let i = 0; i < data.length; i += 4) {
  for (let c = 0; c < 3; c++) { const v = data[i + c]; low = Math.min(low, v); high = Math.max(high, v); sum += v; }
}
return {width: canvas.width, height: canvas.height, low: low, high: high, mean: sum / (data.length / 4 * 3)};
"""


def chromium() -> WebDriver:
    """Headless Debian chromium through its chromedriver, both from the PATH (no driver download)."""
    browser, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.fail("chromium and chromedriver are needed: apt-get install -y chromium chromium-driver (make test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1400"):
        options.add_argument(argument)
    return webdriver.Chrome(service=ChromeService(driver), options=options)


#: Whether the element ``arguments[0]`` is what shows at each of the points (x, y) ``arguments[1]`` gives
#: as fractions of its box: nothing (a label, a toolbar) is drawn over it there.
UNCOVERED = """
const [element, points] = arguments;
const box = element.getBoundingClientRect();
return points.map(([x, y]) => document.elementFromPoint(box.left + x * box.width, box.top + y * box.height) === element);
"""


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    yield driver
    driver.quit()


def _upload(browser: WebDriver, component: str, path: Path) -> None:
    """Give ``path`` to the file input of the component ``component`` and wait for the upload to show."""
    browser.find_element(By.CSS_SELECTOR, f"#{component} input[type=file]").send_keys(str(path))
    shown = f'#{component} td.filename[aria-label="{path.name}"]'
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, shown))


def _result(browser: WebDriver, seconds: float = 120) -> dict:
    """The shown result's pixels, once there; a page that shows none in time fails with what it does show."""
    try:
        return WebDriverWait(browser, seconds).until(lambda b: b.execute_script(RESULT_PIXELS))
    except TimeoutException:
        pytest.fail(f"no result on the page after {seconds} s; it shows: {browser.find_element(By.TAG_NAME, 'body').text[-2000:]!r}")


def test_the_page_relights_the_example(cli, tmp_path, browser, any_to_any_url, any_to_any_checkpoint):
    browser.get(any_to_any_url)
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#image input[type=file]"))
    _upload(browser, "image", EXAMPLE)
    _upload(browser, "depth", EXAMPLE_DEPTH)
    browser.find_element(By.ID, "dir-W").click()
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.CSS_SELECTOR, "#target textarea, #target input").get_attribute("value") == "4500-W")
    assert all(browser.find_element(By.ID, f"dir-{d}").is_enabled() for d in ("E", "W")), "a direction picked locks none"
    browser.find_element(By.ID, "relight").click()
    started = time.perf_counter()
    shown = _result(browser)
    WebDriverWait(browser, 60).until(lambda b: "4500-W" in b.find_element(By.ID, "status").text)
    seconds = time.perf_counter() - started
    photo = browser.find_element(By.CSS_SELECTOR, "#photo img")  # the upload shown as a picture, not only a file name
    assert browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", photo) == [128, 128]
    browser.find_element(By.ID, "all-40").click()
    sheet = WebDriverWait(browser, 120).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#sheet img"))[0]
    WebDriverWait(browser, 60).until(lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", sheet))
    browser.execute_script("arguments[0].scrollIntoView()", sheet)
    corners = [(0.02, 0.01), (0.5, 0.01), (0.98, 0.01), (0.02, 0.5), (0.98, 0.99)]  # the column headings and the row labels
    assert browser.execute_script(UNCOVERED, sheet, corners) == [True] * len(corners)
    screenshot = tmp_path / "ui.png"
    browser.save_screenshot(str(screenshot))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / "ui.png")

    out = tmp_path / "run.png"
    code, _, err = cli(["run", str(EXAMPLE), str(EXAMPLE_DEPTH), "-o", str(out), "-w", str(any_to_any_checkpoint),
                            "--device", "cpu", "--to", "4500-W"])
    assert code == 0, err
    height, width = read_image(out).size
    assert (shown["width"], shown["height"]) == (width, height)
    assert shown["high"] - shown["low"] > 16, shown  # not blank: the relit scene, not one flat colour
    assert browser.find_elements(By.CSS_SELECTOR, "#slider img")
    assert "relit in" in browser.find_element(By.ID, "status").text
    assert read_image(screenshot).size[0] > 0
    assert seconds < 120


def test_a_bad_file_is_a_message_on_the_page_and_the_page_keeps_working(tmp_path, browser, any_to_any_url):
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture")
    browser.get(any_to_any_url)
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#image input[type=file]"))
    _upload(browser, "image", broken)
    browser.find_element(By.ID, "relight").click()
    WebDriverWait(browser, 60).until(lambda b: "broken.png: not a readable" in b.find_element(By.TAG_NAME, "body").text)
    assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.CSS_SELECTOR, "#image button[aria-label='Clear']").click()
    _upload(browser, "image", EXAMPLE)
    _upload(browser, "depth", EXAMPLE_DEPTH)
    browser.find_element(By.ID, "relight").click()
    assert _result(browser)["width"] == 128


def test_a_one_to_one_page_locks_the_light_visibly_and_offers_only_what_runs(tmp_path, browser, one_to_one_url):
    """A one-to-one model's temperatures and compass are locked and look it (greyed, no pointer); the
    model list offers only what can run, and the page says in its own words how to get the rest."""
    browser.get(one_to_one_url)
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#temperature input"))
    for label in browser.find_elements(By.CSS_SELECTOR, "#temperature label"):
        assert label.find_element(By.TAG_NAME, "input").get_attribute("disabled") is not None
        assert float(label.value_of_css_property("opacity")) < 0.6
        assert label.value_of_css_property("cursor") == "not-allowed"
    west = browser.find_element(By.ID, "dir-W")
    assert not west.is_enabled()
    assert float(west.value_of_css_property("opacity")) < 0.6
    missing = " ".join(browser.find_element(By.ID, "missing-models").text.split())
    assert "import it on the server with relight weights import weight.pkl , named mbnet-ntire21" in missing, missing
    assert "relight.weights" not in missing
    browser.find_element(By.CSS_SELECTOR, "#model input").click()
    offered = [option.text for option in WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "ul[role=listbox] li"))]
    assert "mbnet-ntire21" not in offered, offered
    assert "relight-synth-any" in offered, offered
    browser.save_screenshot(str(tmp_path / "page.png"))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / "page.png", ARTIFACTS / "ui-one-to-one.png")
