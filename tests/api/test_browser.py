"""The web page in a real headless Chromium (Debian chromium + chromium-driver), driven by Selenium.

Screenshots land in test-artifacts/ (git-ignored): key-prompt.png, ask-desktop.png, ask-narrow.png,
managers.png.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import add_user
from rag.config import Settings
from rag.engine import QueryEngine
from tests.api.serving import running
from tests.rag.conftest import engine, sample_settings  # noqa: F401 - session fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run")
QUESTION = "How do I deploy a service to production?"
UNANSWERABLE = ("Can I bring my dog to the office?", "Is the office dog friendly?",
                "Are dogs allowed in the office on Fridays?")


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium not installed - `apt-get install chromium chromium-driver` (.ci/run does)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium not installed - `pip install -e '.[dev]'`")
    return browser, driver


@pytest.fixture(scope="module")
def site(sample_settings: Settings, engine: QueryEngine, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
         ) -> Iterator[tuple[str, str]]:
    """The sample organisation behind auth, with one knowledge manager's key."""
    users = tmp_path_factory.mktemp("browser-users") / "users.yaml"
    settings = sample_settings.model_copy(update={"auth": "on", "users_file": users})
    key = add_user(users, name="Maya Okafor", groups=[settings.gaps_group])
    with running(create_app(settings, engine=engine)) as url:
        yield url, key


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    path, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = path
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _full_page_screenshot(driver, path: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
    driver.set_window_size(width, min(int(height) + 120, 4000))
    driver.execute_script("window.scrollTo(0, 0)")
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))


def test_ask_read_a_source_and_send_feedback(site: tuple[str, str], browser, engine: QueryEngine  # noqa: F811
                                             ) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, key = site
    d = browser
    wait = WebDriverWait(d, 30)
    d.get(url + "/")
    # Auth is on: the page asks for the key first and shows no question box until it has one.
    key_box = wait.until(ec.visibility_of_element_located((By.ID, "api-key")))
    assert not d.find_element(By.ID, "ask-form").is_displayed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(ARTIFACTS / "key-prompt.png"))
    key_box.send_keys(key + Keys.ENTER)
    wait.until(ec.visibility_of_element_located((By.ID, "question")))
    assert d.execute_script("return sessionStorage.getItem('whoknows.apiKey')") == key
    # The channel filter is filled from /channels (only channels this caller may read).
    wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#channel option")) > 1)

    d.find_element(By.ID, "question").send_keys(QUESTION)
    d.find_element(By.ID, "ask-button").click()
    cite = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#answer button.cite")))
    answer = d.find_element(By.ID, "answer")
    assert answer.get_attribute("aria-live") == "polite" and len(answer.text) > 40
    sources = d.find_elements(By.CSS_SELECTOR, "#sources li")
    people = d.find_elements(By.CSS_SELECTOR, "#people li.card")
    assert sources and people and "Why:" in people[0].text

    # A citation marker is a real button: Enter on it opens the quoted passage and moves focus there.
    cite.send_keys(Keys.ENTER)
    passage = wait.until(ec.visibility_of_element_located((By.ID, "passage")))
    assert d.switch_to.active_element.get_attribute("id") == "passage"
    assert cite.get_attribute("aria-expanded") == "true"
    quote = d.find_element(By.ID, "passage-quote").text
    assert len(quote) > 20 and "Source:" in d.find_element(By.ID, "passage-source").text
    d.find_element(By.ID, "passage-open").click()
    doc = wait.until(ec.visibility_of_element_located((By.ID, "passage-document")))
    # The passage renders the quote's **bold** and `code`; the whole document is shown as written.
    source_text = re.sub(r"[`*]", "", " ".join(doc.text.split()))
    assert quote.split(" … ")[0][:30] in source_text, "the whole document holds the quote"

    d.find_element(By.CSS_SELECTOR, ".thumb[data-helpful='true']").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "feedback-status"), "Thanks"))
    qid = d.execute_script("return document.querySelector('.thumb[aria-pressed=true]') && "
                           "document.querySelector('.thumb[aria-pressed=true]').dataset.helpful")
    assert qid == "true"
    assert engine.query_log is not None
    recorded = [f for f in engine.query_log.feedback().values() if f.helpful]
    assert recorded, "the thumbs-up reached the query log"

    _full_page_screenshot(d, ARTIFACTS / "ask-desktop.png", 1280)
    # Escape closes the passage and gives focus back to the marker that opened it.
    d.set_window_size(1280, 1000)
    d.find_element(By.ID, "passage").send_keys(Keys.ESCAPE)
    assert not passage.is_displayed() and d.switch_to.active_element.get_attribute("class") == "cite"

    # A phone-width screen: nothing scrolls sideways.
    cite.click()
    d.set_window_size(390, 900)
    overflow = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px screen"
    _full_page_screenshot(d, ARTIFACTS / "ask-narrow.png", 390)
    assert (ARTIFACTS / "ask-narrow.png").stat().st_size > 10_000


def test_managers_page_shows_the_gap_report(site: tuple[str, str], browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, key = site
    auth = {"Authorization": f"Bearer {key}"}
    for q in UNANSWERABLE:  # questions nothing documents: the report's "asked but not answered"
        r = httpx.post(f"{url}/ask", json={"question": q}, headers=auth, timeout=60)
        assert r.status_code == 200 and r.json()["abstained"], q
    d = browser
    d.set_window_size(1280, 1000)
    d.get(url + "/managers")  # the key is still in this tab's sessionStorage
    WebDriverWait(d, 60).until(lambda drv: drv.find_elements(By.CSS_SELECTOR, "#gaps .stats"))
    stats = d.find_element(By.CSS_SELECTOR, "#gaps .stats").text
    assert "Questions" in stats and d.find_element(By.ID, "gaps-error").text == ""
    assert len(d.find_elements(By.CSS_SELECTOR, "#gaps svg.chart")) >= 2, "weekly and per-topic charts"
    topics = d.find_element(By.ID, "gaps-unanswered").find_element(By.XPATH, "..").text
    assert "office dog" in topics.lower() or "dog" in topics.lower()
    _full_page_screenshot(d, ARTIFACTS / "managers.png", 1280)


def _signed_in(d, url: str, key: str, path: str) -> None:  # type: ignore[no-untyped-def]
    """Open ``path``; paste the key when this tab does not hold it yet (the test may run alone)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d.set_window_size(1280, 1000)
    d.get(url + path)
    box = d.find_element(By.ID, "api-key")
    if box.is_displayed():
        box.send_keys(key + Keys.ENTER)


def test_a_people_card_opens_the_colleague_profile(site: tuple[str, str], browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, key = site
    d = browser
    wait = WebDriverWait(d, 60)
    _signed_in(d, url, key, "/")
    wait.until(ec.visibility_of_element_located((By.ID, "question"))).send_keys(QUESTION)
    d.find_element(By.ID, "ask-button").click()
    link = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#people li.card a.profile-link")))
    name = link.text.removeprefix("What else does ").removesuffix(" know?")
    assert name and link.get_attribute("href").endswith("/profile?name=" + name.replace(" ", "%20"))
    link.click()
    wait.until(lambda drv: drv.find_elements(By.CSS_SELECTOR, "#topics li.topic, #profile-error:not(:empty)"))
    assert d.find_element(By.ID, "profile-error").text == ""
    assert d.find_element(By.ID, "profile-name").text == f"What {name} knows"
    topics = d.find_elements(By.CSS_SELECTOR, "#topics li.topic")
    assert topics[0].find_elements(By.CSS_SELECTOR, "ul li"), "each topic shows its evidence"
    assert "last active" in d.find_element(By.ID, "profile-facts").text
    _full_page_screenshot(d, ARTIFACTS / "profile.png", 1280)


def test_managers_page_drafts_a_page_from_a_chat_only_topic(site: tuple[str, str], browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, key = site
    auth = {"Authorization": f"Bearer {key}"}
    for q in ("After updating my Mac to Sonoma, WireGuard says it's connected but internal hostnames don't "
              "resolve. What do I do?", "WireGuard on macOS Sonoma connects but DNS for internal.kestrel.example "
              "fails, how do I fix it?"):  # answered from the #platform thread alone: knowledge only in chat
        r = httpx.post(f"{url}/ask", json={"question": q}, headers=auth, timeout=60)
        assert r.status_code == 200 and not r.json()["abstained"], q
    d = browser
    _signed_in(d, url, key, "/managers")
    wait = WebDriverWait(d, 120)

    def vpn_topic(drv):  # type: ignore[no-untyped-def]
        return next((li for li in drv.find_elements(By.CSS_SELECTOR, "#gaps li.chat-topic")
                     if "VPN question" in li.text), None)

    topic = wait.until(vpn_topic)
    topic.find_element(By.CSS_SELECTOR, "button.codify").click()
    wait.until(lambda drv: "status: draft" in (vpn_topic(drv).find_element(By.CSS_SELECTOR, ".draft").text))
    draft = vpn_topic(d).find_element(By.CSS_SELECTOR, "pre.draft-md").text
    assert "kind: wiki" in draft and "- Tomasz Wilk" in draft and "sudo dscacheutil -flushcache" in draft
    assert "## To confirm" in draft
    d.execute_script("arguments[0].scrollIntoView()", vpn_topic(d))
    d.save_screenshot(str(ARTIFACTS / "managers-draft.png"))
