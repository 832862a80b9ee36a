<%--
  The session page of the failover scenario: session id (hex.jvmRoute), the node that served the
  request, the session's creation time and a hit counter kept in the session. setAttribute on
  every hit makes DeltaManager replicate the new count to the other node.
--%><%@ page contentType="application/json" session="true" %><%
Integer hits = (Integer) session.getAttribute("hits");
hits = hits == null ? 1 : hits + 1;
session.setAttribute("hits", hits);
%>{"id":"<%= session.getId() %>","node":"<%= System.getProperty("jvmRoute") %>","created":<%= session.getCreationTime() %>,"hits":<%= hits %>,"requestedId":"<%= request.getRequestedSessionId() %>"}