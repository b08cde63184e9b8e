"""Expertise profiles: per colleague, the topics they are the strongest source for, with the evidence.

- :mod:`rag.profiles.credit` says who holds each chunk's knowledge (the expert ranking's association rules,
  without a question; threads credit only their answer and post messages);
- :mod:`rag.profiles.build` clusters each person's chunks into labelled topics (the gap report's clustering)
  and ranks a team's people by how much of the team's knowledge they hold.
"""

from rag.profiles.build import list_people, profile
from rag.profiles.types import PersonSummary, Profile, ProfileEvidence, ProfileTopic

__all__ = ["PersonSummary", "Profile", "ProfileEvidence", "ProfileTopic", "list_people", "profile"]
