"""The `review` spider: product review pages (rating, product, reviewer, date, text), paginated.

Selectors: `review` (one review block), `review_body`, `reviewer`, `review_date`, `review_rating`
(an element whose text holds "4/5", "4 out of 5", stars, or an `::attr(...)` holding the number);
optional: `product_link` (links from a product index to product pages; without it the source URL is a
product page), `product_name`, `review_id`, `review_title`, `page_next`.

Incremental: review ids already collected are remembered per product; pages list the newest reviews
first, so a page with nothing new ends that product's pagination, and an unchanged page is not re-parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from crawlers.web.spiders.base import GroundswellSpider
from groundswell.mention import Mention, canonical_url


class ReviewSpider(GroundswellSpider):
    name = "review"
    required_selectors = ("review", "review_body", "reviewer", "review_date", "review_rating")

    async def start(self) -> Any:
        callback = self.parse_index if self.selectors.get("product_link") else self.parse_product
        yield self.request(self.source.url, callback)

    def parse_index(self, response: Response) -> Iterator[Any]:
        if not self.html_ok(response):
            return
        links = response.css(self.sel("product_link"))
        if not links:
            self.error(response.url, "no_products", "the product_link selector matched nothing")
            self.empty(response.url, "no_products: the product_link selector matched nothing")
        for a in links:
            href = a.attrib.get("href")
            if href:
                url = response.urljoin(href)
                yield self.request(url, self.parse_product, meta={"product_url": canonical_url(url)})

    def parse_product(self, response: Response) -> Iterator[Any]:
        if not self.html_ok(response):
            return
        product_url = response.meta.get("product_url") or canonical_url(response.url)
        if self.state.unchanged(canonical_url(response.url), response.body):
            self.count("pages_unchanged")
            return
        product = self.first_text(response, "product_name")
        known = set(self.state.items.get(product_url, []))
        blocks = response.css(self.sel("review"))
        if not blocks and "page_next" not in response.meta:
            self.skipped(response.url, "no_reviews")
            self.empty(response.url, "no_reviews: the review selector matched nothing")
        if blocks and self.page_repeats(product_url, (b.get() for b in blocks)):
            self.error(response.url, "pagination_loop", "this review page repeats an earlier page's reviews")
            return
        new = 0
        for index, block in enumerate(blocks):
            review_id = self.first_text(block, "review_id") or f"{canonical_url(response.url)}#{index}"
            if review_id in known:
                continue
            mention = self.build(
                response, block, review_id=review_id, product=product, product_url=product_url
            )
            if mention is None:
                continue
            known.add(review_id)
            new += 1
            yield from self.emit(mention)
        self.state.items[product_url] = sorted(known)
        next_href = self.link(response, "page_next")
        if next_href and blocks and new == 0:
            self.count("pagination_stopped_at_known")
            return
        if next_href:
            yield self.request(
                response.urljoin(next_href),
                self.parse_product,
                meta={"product_url": product_url, "page_next": True},
            )

    def build(
        self, response: Response, block: Any, *, review_id: str, product: str, product_url: str
    ) -> Mention | None:
        published, published_missing = self.published(
            f"{response.url}#review-{review_id}", self.first_text(block, "review_date")
        )
        rating_text = self.first_text(block, "review_rating")
        rating = self.rating(rating_text)
        if rating is None:
            self.count("reviews_without_rating")
        elif not 0 <= rating <= 5:
            self.error(response.url, "bad_rating", rating_text)
            rating = None
        return Mention(
            source=self.source.name,
            source_kind=self.mention_kind,
            url=f"{response.url.split('#')[0]}#review-{review_id}",
            canonical_url=f"{canonical_url(response.url)}#review-{review_id}",
            external_id=review_id,
            author=self.first_text(block, "reviewer"),
            published=published,
            title=self.first_text(block, "review_title"),
            text=self.first_text(block, "review_body"),
            rating=rating,
            thread_id=product_url,
            raw={
                "product": product,
                "product_url": product_url,
                "rating_text": rating_text,
                "page": response.url,
                **({"published_missing": True} if published_missing else {}),
                **self.charset_raw(response),
            },
        )
